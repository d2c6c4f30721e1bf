import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Engine } from '../../engine.js';
import { createAccount, getAccountView, requireAccount } from '../../accounts/accounts.js';
import { listLedger } from '../../accounts/ledger-history.js';
import { listOpenHolds } from '../../ledger/holds.js';
import { planIdSchema, userIdSchema } from '../../validation.js';
import { defineRoute, mountRoute } from '../route-definition.js';
import { accountViewSchema, ledgerPageSchema, openHoldSchema } from '../schemas/accounts.js';

export const createBody = z.strictObject({
  userId: userIdSchema,
  plan: planIdSchema.optional().describe('free_starter unless said'),
  email: z.email().optional().describe('where warnings are e-mailed, when SMTP is set up'),
});
const userParams = z.object({ userId: userIdSchema });

/** The routes' definitions (zod schemas of params, query, body and answer), for validation and the API document. */
export const accountsApi = {
  create: defineRoute({
    method: 'POST',
    url: '/v1/accounts',
    summary: 'Open an account on a plan: its first period is allocated at once',
    body: createBody,
    answer: accountViewSchema,
    status: 201,
    otherStatuses: { 200: 'The account already existed: nothing changed' },
    errors: ['unknown_plan'],
  }),
  get: defineRoute({
    method: 'GET',
    url: '/v1/accounts/:userId',
    summary: 'An account: plan, balance, held tokens, period, use and warning',
    params: userParams,
    answer: accountViewSchema,
    errors: ['account_not_found'],
  }),
  holds: defineRoute({
    method: 'GET',
    url: '/v1/accounts/:userId/holds',
    summary: "The account's open holds",
    params: userParams,
    answer: z.object({ holds: z.array(openHoldSchema) }),
    errors: ['account_not_found'],
  }),
  ledger: defineRoute({
    method: 'GET',
    url: '/v1/accounts/:userId/ledger',
    summary: 'Every grant, use, hold, release, expiry and reversal with the balance after it, newest first, paged',
    params: userParams,
    query: z.object({
      limit: z.coerce.number().int().min(1).max(500).default(50),
      cursor: z.string().max(64).optional().describe('nextCursor of the previous page'),
    }),
    answer: ledgerPageSchema,
    errors: ['account_not_found'],
  }),
} as const;

export function accountRoutes(app: FastifyInstance, engine: Engine): void {
  const r = accountsApi;
  mountRoute(app, r.create, async ({ body, status }) => {
    const now = await engine.clock.now();
    const { created } = await createAccount(engine.ledger, body, now);
    if (!created) status(200);
    return getAccountView(engine.db, body.userId, now);
  });

  mountRoute(app, r.get, async ({ params }) => getAccountView(engine.db, params.userId, await engine.clock.now()));

  mountRoute(app, r.holds, async ({ params }) => {
    await requireAccount(engine.db, params.userId);
    return { holds: await listOpenHolds(engine.db, params.userId, await engine.clock.now()) };
  });

  mountRoute(app, r.ledger, async ({ params, query }) => listLedger(engine.db, params.userId, query));
}
