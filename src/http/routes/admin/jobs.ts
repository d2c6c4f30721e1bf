import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Engine } from '../../../engine.js';
import { EngineError } from '../../../errors.js';
import { isScheduledJob, scheduledJobs } from '../../../jobs/scheduled-jobs.js';
import { enqueueScheduledJob } from '../../../jobs/scheduler.js';
import { isoTimestamp } from '../../../validation.js';
import { defineRoute, mountRoute } from '../../route-definition.js';
import { isoTime } from '../../schemas/time.js';

/** The routes' definitions (zod schemas of params, query, body and answer), for validation and the API document. */
export const adminJobsApi = {
  list: defineRoute({
    method: 'GET',
    url: '/admin/api/jobs',
    summary: 'The scheduled jobs, their schedules and what each does',
    answer: z.object({ jobs: z.array(z.object({ name: z.string(), cron: z.string().nullable(), description: z.string() })) }),
  }),
  run: defineRoute({
    method: 'POST',
    url: '/admin/api/jobs/:name/run',
    summary: 'Run a scheduled job now, or replay a missed schedule as of a past time; answers once it is enqueued',
    params: z.object({ name: z.string().max(64).describe(Object.keys(scheduledJobs).join(', ')) }),
    body: z.strictObject({ asOf: isoTimestamp.optional().describe('not after the engine\'s now') }).optional(),
    answer: z.object({ status: z.literal('queued'), name: z.string(), jobId: z.string(), asOf: isoTime.optional() }),
    status: 202,
    errors: ['unknown_job', 'as_of_in_future'],
  }),
} as const;

export function jobRoutes(app: FastifyInstance, engine: Engine): void {
  mountRoute(app, adminJobsApi.list, async () => ({
    jobs: Object.entries(scheduledJobs).map(([name, def]) => ({ name, cron: def.cron ?? null, description: def.description })),
  }));

  mountRoute(app, adminJobsApi.run, async ({ params: { name }, body }) => {
    if (!isScheduledJob(name)) {
      throw new EngineError('unknown_job', `no job "${name}"; jobs are: ${Object.keys(scheduledJobs).join(', ')}`);
    }
    const asOf = body?.asOf ? new Date(body.asOf) : undefined;
    const jobId = await enqueueScheduledJob(engine, name, asOf);
    return { status: 'queued' as const, name, jobId, ...(asOf ? { asOf: asOf.toISOString() } : {}) };
  });
}
