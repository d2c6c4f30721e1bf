import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Engine } from '../../engine.js';
import { getAccountView, requireAccount } from '../../accounts/accounts.js';
import { changePlan } from '../../billing/plan-change.js';
import { paymentHistory } from '../../billing/payments.js';
import { planIdSchema, userIdSchema } from '../../validation.js';
import { parse } from '../errors.js';
import { transactWithNotifications } from '../../notify/delivery-jobs.js';
import { billingRules } from '../../billing/billing-rules.js';

const userParams = z.object({ userId: userIdSchema });
const planBody = z.strictObject({ plan: planIdSchema });

export function billingRoutes(app: FastifyInstance, engine: Engine): void {
  /** A trusted service moves a user to another plan: an upgrade now (prorated), a downgrade at renewal. */
  app.put('/v1/accounts/:userId/plan', async (request) => {
    const { userId } = parse(userParams, request.params, 'userId');
    const { plan } = parse(planBody, request.body, 'plan change');
    const now = await engine.clock.now();
    const change = await transactWithNotifications(engine, (trx) => changePlan(trx, userId, plan, now, billingRules(engine.config)));
    return {
      change: change.change,
      effectiveAt: change.effectiveAt.toISOString(),
      tokensGranted: change.tokensGranted,
      pendingPlan: change.pendingPlanId,
      account: await getAccountView(engine.db, userId, now),
    };
  });

  /** The account's billing: paid through when, a pending plan change or lapse, and every payment. */
  app.get('/v1/accounts/:userId/billing', async (request) => {
    const { userId } = parse(userParams, request.params, 'userId');
    const account = await requireAccount(engine.db, userId);
    const sub = await engine.db.selectFrom('subscriptions').selectAll().where('user_id', '=', userId).executeTakeFirst();
    const stripe = sub?.stripe_subscription_id
      ? await engine.db.selectFrom('stripe_subscriptions').selectAll().where('id', '=', sub.stripe_subscription_id).executeTakeFirst()
      : undefined;
    return {
      userId,
      plan: account.plan_id,
      status: sub?.status ?? null,
      paidThrough: sub?.paid_through?.toISOString() ?? null,
      lapseReason: sub?.lapse_reason ?? null,
      pendingPlan: sub?.pending_plan_id ?? null,
      graceUntil: sub?.grace_until?.toISOString() ?? null,
      subscription: stripe
        ? {
            id: stripe.id,
            status: stripe.status,
            plan: stripe.plan_id,
            currentPeriod:
              stripe.current_period_start && stripe.current_period_end
                ? { start: stripe.current_period_start.toISOString(), end: stripe.current_period_end.toISOString() }
                : null,
            cancelAtPeriodEnd: stripe.cancel_at_period_end,
          }
        : null,
      payments: await paymentHistory(engine.db, userId),
    };
  });
}
