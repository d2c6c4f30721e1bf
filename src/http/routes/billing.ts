import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Engine } from '../../engine.js';
import { getAccountView, requireAccount } from '../../accounts/accounts.js';
import { changePlan } from '../../billing/plan-change.js';
import { paymentHistory } from '../../billing/payments.js';
import { billingStatus } from '../../billing/billing-status.js';
import { planIdSchema, userIdSchema } from '../../validation.js';
import { runLedger } from '../../ledger/run-ledger.js';
import { billingRules } from '../../billing/billing-rules.js';
import { defineRoute, mountRoute } from '../route-definition.js';
import { billingStatusSchema, paymentSchema, planChangeSchema } from '../schemas/accounts.js';

const userParams = z.object({ userId: userIdSchema });

/** The routes' definitions (zod schemas of params, query, body and answer), for validation and the API document. */
export const billingApi = {
  changePlan: defineRoute({
    method: 'PUT',
    url: '/v1/accounts/:userId/plan',
    summary: 'Move a user to another plan: an upgrade now (prorated), a downgrade at renewal',
    params: userParams,
    body: z.strictObject({ plan: planIdSchema }),
    answer: planChangeSchema,
    errors: ['account_not_found', 'unknown_plan', 'account_busy'],
  }),
  billing: defineRoute({
    method: 'GET',
    url: '/v1/accounts/:userId/billing',
    summary: 'The account\'s billing: paid through when, a pending plan change or lapse, and every payment',
    params: userParams,
    answer: billingStatusSchema.extend({ userId: z.string(), plan: z.string(), payments: z.array(paymentSchema).describe('oldest first') }),
    errors: ['account_not_found'],
  }),
} as const;

export function billingRoutes(app: FastifyInstance, engine: Engine): void {
  mountRoute(app, billingApi.changePlan, async ({ params, body }) => {
    const now = await engine.clock.now();
    const change = await runLedger(engine.ledger, now, [], (_, unit) => changePlan(unit, params.userId, body.plan, now, billingRules(engine.config)));
    return {
      change: change.change,
      effectiveAt: change.effectiveAt.toISOString(),
      tokensGranted: change.tokensGranted,
      pendingPlan: change.pendingPlanId,
      account: await getAccountView(engine.db, params.userId, now),
    };
  });

  mountRoute(app, billingApi.billing, async ({ params }) => {
    const { userId } = params;
    const account = await requireAccount(engine.db, userId);
    return {
      userId,
      plan: account.plan_id,
      ...(await billingStatus(engine.db, userId)),
      payments: await paymentHistory(engine.db, userId),
    };
  });
}
