import type { FastifyInstance } from 'fastify';
import type { Engine } from '../../../engine.js';
import { audit } from '../../../admin/audit.js';
import { adminActor } from '../../auth.js';

/**
 * bull-board is read-only for the usage queue, so this is how an admin sends failed usage jobs (a job
 * that stalled too often, or outlived its retries while PostgreSQL was away) back to the workers. A rerun
 * charges nothing twice: each event's key is claimed once in the ledger. Audited before it is done.
 */
export function failedUsageRoutes(app: FastifyInstance, engine: Engine): void {
  app.post('/admin/api/queues/usage/retry-failed', async (request, reply) => {
    const queue = engine.queues.usage;
    const failed = await queue.getFailedCount();
    await audit(engine.db, {
      actor: adminActor(request),
      action: 'queue.retry-failed',
      subject: 'queue:usage',
      before: { failed },
      after: { retried: failed },
      at: await engine.clock.now(),
    });
    if (failed > 0) await queue.retryJobs({ state: 'failed' });
    return reply.status(202).send({ status: 'queued', queue: 'usage', retried: failed });
  });
}
