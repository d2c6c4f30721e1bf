import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Engine } from '../../engine.js';
import { createAccount, getAccountView, requireAccount } from '../../accounts/accounts.js';
import { listLedger } from '../../ledger/ledger-history.js';
import { listOpenHolds } from '../../ledger/holds.js';
import { planIdSchema, userIdSchema } from '../../validation.js';
import { parse } from '../errors.js';

export const createBody = z.strictObject({
  userId: userIdSchema,
  plan: planIdSchema.optional(),
  email: z.email().optional(),
});
const userParams = z.object({ userId: userIdSchema });
const ledgerQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().max(64).optional(),
});

export function accountRoutes(app: FastifyInstance, engine: Engine): void {
  app.post('/v1/accounts', async (request, reply) => {
    const body = parse(createBody, request.body, 'account');
    const now = await engine.clock.now();
    const { created } = await createAccount(engine.db, body, now);
    return reply.status(created ? 201 : 200).send(await getAccountView(engine.db, body.userId, now));
  });

  app.get('/v1/accounts/:userId', async (request) => {
    const { userId } = parse(userParams, request.params, 'userId');
    return getAccountView(engine.db, userId, await engine.clock.now());
  });

  app.get('/v1/accounts/:userId/holds', async (request) => {
    const { userId } = parse(userParams, request.params, 'userId');
    await requireAccount(engine.db, userId);
    return { holds: await listOpenHolds(engine.db, userId, await engine.clock.now()) };
  });

  app.get('/v1/accounts/:userId/ledger', async (request) => {
    const { userId } = parse(userParams, request.params, 'userId');
    const query = parse(ledgerQuery, request.query, 'query');
    return listLedger(engine.db, userId, query);
  });
}
