import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Engine } from '../../../engine.js';
import { defineRoute, mountRoute } from '../../route-definition.js';

const count = z.number().int();

/** The routes' definitions (zod schemas of params, query, body and answer), for validation and the API document. */
export const adminQueueHealthApi = {
  queues: defineRoute({
    method: 'GET',
    url: '/admin/api/queues',
    summary: 'Depth and age of every queue (bull-board at /admin/queues has the details)',
    answer: z.object({
      queues: z.array(
        z.object({
          name: z.string(),
          waiting: count,
          active: count,
          delayed: count,
          failed: count,
          completed: count,
          oldestWaitingSeconds: count,
          staged: count.optional().describe('usage only: events accepted and staged in Redis, not yet moved into jobs by the workers'),
        }),
      ),
    }),
  }),
} as const;

/** Depth and age of every queue, for the admin console (bull-board has the details). */
export function queueHealthRoutes(app: FastifyInstance, engine: Engine): void {
  mountRoute(app, adminQueueHealthApi.queues, async () => {
    const now = Date.now();
    const staged = await engine.stage.waiting();
    const queues = await Promise.all(
      Object.entries(engine.queues).map(async ([name, queue]) => {
        const [counts, [oldest]] = await Promise.all([
          queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed'),
          queue.getJobs(['waiting'], -1, -1, true),
        ]);
        const count = (state: string) => counts[state] ?? 0;
        return { name, waiting: count('waiting'), active: count('active'), delayed: count('delayed'), failed: count('failed'), completed: count('completed'), oldestWaitingSeconds: oldest ? Math.round((now - oldest.timestamp) / 1000) : 0, ...(name === 'usage' ? { staged } : {}) };
      }),
    );
    return { queues };
  });
}
