import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Engine } from '../../../engine.js';
import { listNotifications, retryFailedDeliveries } from '../../../notify/notification-admin.js';
import { enqueueDeliveries } from '../../../notify/delivery-jobs.js';
import { userIdSchema } from '../../../validation.js';
import { adminActor } from '../../auth.js';
import { parse } from '../../errors.js';

const listQuery = z.object({
  status: z.enum(['pending', 'delivered', 'failed', 'skipped']).optional(),
  type: z.enum(['tokens.warning', 'tokens.alert']).optional(),
  userId: userIdSchema.optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

/** The outbox for operators: what was sent, what failed, and a retry for what failed. */
export function notificationRoutes(app: FastifyInstance, engine: Engine): void {
  app.get('/admin/api/notifications', async (request) => {
    const query = parse(listQuery, request.query, 'query');
    return { notifications: await listNotifications(engine.db, query) };
  });

  app.post('/admin/api/notifications/:id/retry', async (request, reply) => {
    const { id } = parse(z.object({ id: z.string().min(1).max(64) }), request.params, 'notification id');
    const retried = await retryFailedDeliveries(engine.db, id, adminActor(request), await engine.clock.now());
    await enqueueDeliveries(engine.queues.notification, engine.config.notify, retried);
    return reply.status(202).send({ status: 'queued', id, deliveries: retried.length });
  });
}
