import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Engine } from '../../../engine.js';
import { listAlerts } from '../../../notify/alerts.js';
import { listReconcileAlerts, reconcileRules, type ReconcileRule } from '../../../reconcile/reconcile-alerts.js';
import { userIdSchema } from '../../../validation.js';
import { defineRoute, mountRoute } from '../../route-definition.js';
import { isoTime } from '../../schemas/time.js';

const isReconcileRule = (rule: string): rule is ReconcileRule => rule.startsWith('reconcile:');

/** The routes' definitions (zod schemas of params, query, body and answer), for validation and the API document. */
export const adminAlertsApi = {
  list: defineRoute({
    method: 'GET',
    url: '/admin/api/alerts',
    summary: 'Unusual usage the alerts job found and ledger invariants the reconcile job found broken, newest first',
    query: z.object({
      userId: userIdSchema.optional(),
      rule: z.enum(['burst', 'rejections', 'rate', 'around_the_clock', ...reconcileRules]).optional(),
      limit: z.coerce.number().int().min(1).max(500).default(100),
    }),
    answer: z.object({
      alerts: z.array(
        z.object({
          id: z.number().int(),
          userId: z.string().nullable(),
          rule: z.string(),
          message: z.string(),
          observed: z.number(),
          threshold: z.number(),
          windowStart: isoTime,
          windowEnd: isoTime,
          details: z.record(z.string(), z.unknown()).describe('reconcile alerts: `resolvedAt` is null while the violation persists'),
          notificationId: z.string().nullable(),
          raisedAt: isoTime,
        }),
      ),
    }),
  }),
} as const;

/** Both kinds take their ids from one sequence, so one order interleaves them. */
export function alertRoutes(app: FastifyInstance, engine: Engine): void {
  mountRoute(app, adminAlertsApi.list, async ({ query: { rule, ...query } }) => {
    if (rule && isReconcileRule(rule)) return { alerts: await listReconcileAlerts(engine.readDb, { ...query, rule }) };
    const usage = await listAlerts(engine.readDb, { ...query, rule });
    if (rule) return { alerts: usage };
    const reconcile = await listReconcileAlerts(engine.readDb, query);
    return { alerts: [...usage, ...reconcile].sort((a, b) => b.id - a.id).slice(0, query.limit) };
  });
}
