import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Engine } from '../../../engine.js';
import { listNotifications, retryFailedDeliveries } from '../../../notify/notification-admin.js';
import { enqueueDeliveries } from '../../../notify/delivery-jobs.js';
import { userIdSchema } from '../../../validation.js';
import { adminActor } from '../../auth.js';
import { defineRoute, mountRoute } from '../../route-definition.js';
import { isoTime } from '../../schemas/time.js';

const deliveryStatus = z.enum(['pending', 'delivered', 'failed', 'skipped']);
const notificationType = z.enum(['tokens.warning', 'tokens.alert']);

/** The routes' definitions (zod schemas of params, query, body and answer), for validation and the API document. */
export const adminNotificationsApi = {
  list: defineRoute({
    method: 'GET',
    url: '/admin/api/notifications',
    summary: 'The outbox: every notification with its deliveries (webhook, e-mail), newest first',
    query: z.object({
      status: deliveryStatus.optional().describe('those with a delivery in this status'),
      type: notificationType.optional(),
      userId: userIdSchema.optional(),
      limit: z.coerce.number().int().min(1).max(500).default(100),
    }),
    answer: z.object({
      notifications: z.array(
        z.object({
          id: z.string().describe('the Standard Webhooks `webhook-id`'),
          type: notificationType,
          userId: z.string().nullable(),
          occurredAt: isoTime,
          data: z.unknown().describe('the webhook body\'s `data`'),
          deliveries: z.array(
            z.object({
              id: z.number().int(),
              channel: z.enum(['webhook', 'email']),
              status: deliveryStatus,
              attempts: z.number().int(),
              lastError: z.string().nullable(),
              updatedAt: isoTime,
              deliveredAt: isoTime.nullable(),
            }),
          ),
        }),
      ),
    }),
  }),
  retry: defineRoute({
    method: 'POST',
    url: '/admin/api/notifications/:id/retry',
    summary: "Send a notification's failed deliveries again (audited)",
    params: z.object({ id: z.string().min(1).max(64) }),
    answer: z.object({ status: z.literal('queued'), id: z.string(), deliveries: z.number().int() }),
    status: 202,
    errors: ['notification_not_found', 'notification_not_failed'],
  }),
} as const;

/** The outbox for operators: what was sent, what failed, and a retry for what failed. */
export function notificationRoutes(app: FastifyInstance, engine: Engine): void {
  mountRoute(app, adminNotificationsApi.list, async ({ query }) => ({ notifications: await listNotifications(engine.readDb, query) }));

  mountRoute(app, adminNotificationsApi.retry, async ({ params, request }) => {
    const retried = await retryFailedDeliveries(engine.db, params.id, adminActor(request), await engine.clock.now());
    await enqueueDeliveries(engine.queues.notification, engine.config.notify, retried);
    return { status: 'queued' as const, id: params.id, deliveries: retried.length };
  });
}
