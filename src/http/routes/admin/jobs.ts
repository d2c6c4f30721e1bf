import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Engine } from '../../../engine.js';
import { EngineError } from '../../../errors.js';
import { isScheduledJob, scheduledJobs } from '../../../jobs/scheduled-jobs.js';
import { enqueueScheduledJob } from '../../../jobs/scheduler.js';
import { isoTimestamp } from '../../../validation.js';
import { parse } from '../../errors.js';

const runBody = z.strictObject({ asOf: isoTimestamp.optional() }).optional();

export function jobRoutes(app: FastifyInstance, engine: Engine): void {
  app.get('/admin/api/jobs', async () => ({
    jobs: Object.entries(scheduledJobs).map(([name, def]) => ({ name, cron: def.cron ?? null, description: def.description })),
  }));

  app.post('/admin/api/jobs/:name/run', async (request, reply) => {
    const { name } = parse(z.object({ name: z.string().max(64) }), request.params, 'job name');
    if (!isScheduledJob(name)) {
      throw new EngineError('unknown_job', `no job "${name}"; jobs are: ${Object.keys(scheduledJobs).join(', ')}`);
    }
    const body = parse(runBody, request.body ?? undefined, 'job run');
    const asOf = body?.asOf ? new Date(body.asOf) : undefined;
    const jobId = await enqueueScheduledJob(engine, name, asOf);
    return reply.status(202).send({ status: 'queued', name, jobId, ...(asOf ? { asOf: asOf.toISOString() } : {}) });
  });
}
