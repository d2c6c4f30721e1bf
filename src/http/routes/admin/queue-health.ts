import type { FastifyInstance } from 'fastify';
import type { Engine } from '../../../engine.js';

/** Depth and age of every queue, for the admin console (bull-board has the details). */
export function queueHealthRoutes(app: FastifyInstance, engine: Engine): void {
  app.get('/admin/api/queues', async () => {
    const now = Date.now();
    const queues = await Promise.all(
      Object.entries(engine.queues).map(async ([name, queue]) => {
        const [counts, [oldest]] = await Promise.all([
          queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed'),
          queue.getJobs(['waiting'], -1, -1, true),
        ]);
        return { name, ...counts, oldestWaitingSeconds: oldest ? Math.round((now - oldest.timestamp) / 1000) : 0 };
      }),
    );
    return { queues };
  });
}
