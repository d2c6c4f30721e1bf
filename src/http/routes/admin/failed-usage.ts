import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Engine } from '../../../engine.js';
import { audit } from '../../../audit/audit.js';
import { adminActor } from '../../auth.js';
import { defineRoute, mountRoute } from '../../route-definition.js';

/** The routes' definitions (zod schemas of params, query, body and answer), for validation and the API document. */
export const adminFailedUsageApi = {
  retry: defineRoute({
    method: 'POST',
    url: '/admin/api/queues/usage/retry-failed',
    summary: 'Send failed usage jobs back to the workers (audited); a rerun charges nothing twice',
    answer: z.object({ status: z.literal('queued'), queue: z.literal('usage'), retried: z.number().int() }),
    status: 202,
  }),
} as const;

/**
 * bull-board is read-only for the usage queue, so this is how an admin sends failed usage jobs (a job
 * that stalled too often, or outlived its retries while PostgreSQL was away) back to the workers. A rerun
 * charges nothing twice: each event's key is claimed once in the ledger. Audited before it is done.
 */
export function failedUsageRoutes(app: FastifyInstance, engine: Engine): void {
  mountRoute(app, adminFailedUsageApi.retry, async ({ request }) => {
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
    return { status: 'queued' as const, queue: 'usage' as const, retried: failed };
  });
}
