import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Engine } from '../../../engine.js';
import { searchAccounts } from '../../../accounts/account-search.js';
import { accountOverview } from '../../../billing/account-overview.js';
import { listLedger } from '../../../accounts/ledger-history.js';
import { listOpenHolds, releaseHold } from '../../../ledger/holds.js';
import { getAccountView, requireAccount } from '../../../accounts/accounts.js';
import { changePlanAsAdmin } from '../../../billing/admin-plan-change.js';
import { billingRules } from '../../../billing/billing-rules.js';
import { runLedger } from '../../../ledger/run-ledger.js';
import { planIdSchema, userIdSchema } from '../../../validation.js';
import { adminActor } from '../../auth.js';
import { defineRoute, mountRoute } from '../../route-definition.js';
import { accountViewSchema, billingStatusSchema, ledgerPageSchema, openHoldSchema, paymentSchema, planChangeSchema } from '../../schemas/accounts.js';
import { isoTime } from '../../schemas/time.js';

const userParams = z.object({ userId: userIdSchema });
const pageLimit = (max: number, fallback: number) => z.coerce.number().int().min(1, 'limit must be >= 1').max(max, `limit is at most ${max}`).default(fallback);
const cursor = z.string().max(200).optional().describe('nextCursor of the previous page');

export const accountSummarySchema = z.object({
  userId: z.string(),
  plan: z.string(),
  balance: z.number().int(),
  held: z.number().int(),
  usedThisPeriod: z.number().int(),
  allocatedThisPeriod: z.number().int(),
  percentUsed: z.number().int(),
  periodEnd: isoTime,
  createdAt: isoTime,
});

export const accountOverviewSchema = accountViewSchema.extend({
  createdAt: isoTime,
  billing: billingStatusSchema,
  payments: z.array(paymentSchema).describe('newest first'),
});

const adminHoldSchema = openHoldSchema.extend({ createdAt: isoTime });

/** The routes' definitions (zod schemas of params, query, body and answer), for validation and the API document. */
export const adminAccountsApi = {
  search: defineRoute({
    method: 'GET',
    url: '/admin/api/accounts',
    summary: 'Find accounts by userId prefix, plan, or near their limit (90 percent used or more); paged',
    query: z.object({
      prefix: z.string().min(1).max(128).regex(/^[A-Za-z0-9_.:@-]+$/, 'prefix must be characters of A-Za-z0-9_.:@-').optional(),
      plan: planIdSchema.optional(),
      nearLimit: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
      sort: z.enum(['userId', 'percentUsed']).default('userId'),
      limit: pageLimit(200, 25),
      cursor,
    }),
    answer: z.object({ accounts: z.array(accountSummarySchema), nextCursor: z.string().nullable() }),
  }),
  overview: defineRoute({
    method: 'GET',
    url: '/admin/api/accounts/:userId',
    summary: "An account as the user sees it, with its billing status and payments",
    params: userParams,
    answer: accountOverviewSchema,
    errors: ['account_not_found'],
  }),
  ledger: defineRoute({
    method: 'GET',
    url: '/admin/api/accounts/:userId/ledger',
    summary: "The account's ledger, newest first, paged",
    params: userParams,
    query: z.object({ limit: pageLimit(500, 50), cursor }),
    answer: ledgerPageSchema,
    errors: ['account_not_found'],
  }),
  holds: defineRoute({
    method: 'GET',
    url: '/admin/api/accounts/:userId/holds',
    summary: "The account's open holds, soonest to expire first",
    params: userParams,
    answer: z.object({ holds: z.array(adminHoldSchema) }),
    errors: ['account_not_found'],
  }),
  releaseHold: defineRoute({
    method: 'DELETE',
    url: '/admin/api/accounts/:userId/holds/:reservationId',
    summary: 'Release one of the account\'s holds (audited); releasing a released hold answers the same',
    params: z.object({ userId: userIdSchema, reservationId: z.string().min(1).max(64) }),
    answer: z.object({ reservationId: z.string(), status: z.literal('released') }),
    errors: ['reservation_not_found', 'reservation_closed', 'account_busy'],
  }),
  changePlan: defineRoute({
    method: 'PUT',
    url: '/admin/api/accounts/:userId/plan',
    summary: 'Move the account to another plan: an upgrade now with its prorated grant, a downgrade at renewal (audited)',
    params: userParams,
    body: z.strictObject({ plan: planIdSchema }),
    answer: planChangeSchema,
    errors: ['account_not_found', 'unknown_plan', 'account_busy'],
  }),
} as const;

/** What the admin console needs to find an account and act on it; every change is audited. */
export function adminAccountsRoutes(app: FastifyInstance, engine: Engine): void {
  const r = adminAccountsApi;
  mountRoute(app, r.search, async ({ query }) => searchAccounts(engine.readDb, query, await engine.clock.now()));

  mountRoute(app, r.overview, async ({ params }) => accountOverview(engine.db, params.userId, await engine.clock.now()));

  mountRoute(app, r.ledger, async ({ params, query }) => listLedger(engine.readDb, params.userId, query));

  mountRoute(app, r.holds, async ({ params }) => {
    await requireAccount(engine.db, params.userId);
    return { holds: await listOpenHolds(engine.db, params.userId, await engine.clock.now()) };
  });

  mountRoute(app, r.releaseHold, async ({ params, request }) => {
    const result = await releaseHold(engine.ledger, params.reservationId, await engine.clock.now(), engine.accountGate, { userId: params.userId, actor: adminActor(request) });
    return { reservationId: params.reservationId, ...result };
  });

  mountRoute(app, r.changePlan, async ({ params, body, request }) => {
    const now = await engine.clock.now();
    const change = await runLedger(engine.ledger, now, [], (_, unit) => changePlanAsAdmin(unit, params.userId, body.plan, adminActor(request), now, billingRules(engine.config)));
    return {
      change: change.change,
      effectiveAt: change.effectiveAt.toISOString(),
      tokensGranted: change.tokensGranted,
      pendingPlan: change.pendingPlanId,
      account: await getAccountView(engine.db, params.userId, now),
    };
  });
}
