import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Engine } from '../../../engine.js';
import { listAlerts } from '../../../notify/alerts.js';
import { listReconcileAlerts, reconcileRules, type ReconcileRule } from '../../../notify/reconcile-alerts.js';
import { userIdSchema } from '../../../validation.js';
import { parse } from '../../errors.js';

const listQuery = z.object({
  userId: userIdSchema.optional(),
  rule: z.enum(['burst', 'rejections', 'rate', 'around_the_clock', ...reconcileRules]).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

const isReconcileRule = (rule: string): rule is ReconcileRule => rule.startsWith('reconcile:');

/**
 * Unusual usage the alerts job found and ledger invariants the reconcile job found broken, newest first
 * (both kinds take their ids from one sequence).
 */
export function alertRoutes(app: FastifyInstance, engine: Engine): void {
  app.get('/admin/api/alerts', async (request) => {
    const { rule, ...query } = parse(listQuery, request.query, 'query');
    if (rule && isReconcileRule(rule)) return { alerts: await listReconcileAlerts(engine.db, { ...query, rule }) };
    const usage = await listAlerts(engine.db, { ...query, rule });
    if (rule) return { alerts: usage };
    const reconcile = await listReconcileAlerts(engine.db, query);
    return { alerts: [...usage, ...reconcile].sort((a, b) => b.id - a.id).slice(0, query.limit) };
  });
}
