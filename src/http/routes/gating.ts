import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Engine } from '../../engine.js';
import { checkAndHold, checkQuote } from '../../usage/check.js';
import { releaseHold } from '../../ledger/holds.js';
import { featureKeySchema, userIdSchema } from '../../validation.js';
import { defineRoute, mountRoute } from '../route-definition.js';
import { isoTime } from '../schemas/time.js';

export const checkBody = z.strictObject({
  userId: userIdSchema,
  feature: featureKeySchema,
  reserve: z.boolean().optional().describe('hold the cost until a usage event names the reservationId, a release, or the expiry'),
  ttlSeconds: z.number().int().min(1).max(86_400).optional().describe('how long a hold lives (TOKENS_HOLD_TTL_SECONDS, 300, unless said)'),
});

/** The routes' definitions (zod schemas of params, query, body and answer), for validation and the API document. */
export const gatingApi = {
  check: defineRoute({
    method: 'POST',
    url: '/v1/check',
    summary: 'May this user use this feature now? Optionally hold its cost',
    description:
      'Quotes the cost in force now. A refusal is an answer, not an error: `allowed: false` with its `reason`. `reserve: true` on a feature that costs 0 answers `allowed: true` with no `reservationId` (nothing is held).',
    body: checkBody,
    answer: z.object({
      allowed: z.boolean(),
      cost: z.number().int(),
      balance: z.number().int().describe('spendable now, after the hold when one was placed'),
      reason: z.enum(['insufficient_tokens', 'account_not_found', 'unknown_feature', 'feature_disabled']).optional(),
      reservationId: z.string().optional(),
      expiresAt: isoTime.optional().describe("the hold's expiry"),
    }),
    errors: ['too_many_holds', 'account_busy'],
  }),
  release: defineRoute({
    method: 'DELETE',
    url: '/v1/reservations/:reservationId',
    summary: 'Release a hold: its tokens are spendable again; releasing a released hold answers the same',
    params: z.object({ reservationId: z.string().max(64) }),
    answer: z.object({ reservationId: z.string(), status: z.literal('released') }),
    errors: ['reservation_not_found', 'reservation_closed', 'account_busy'],
  }),
} as const;

export function gatingRoutes(app: FastifyInstance, engine: Engine): void {
  mountRoute(app, gatingApi.check, async ({ body }) => {
    const now = engine.clock.current?.() ?? (await engine.clock.now());
    if (!body.reserve) return checkQuote(engine.ledger, body.userId, body.feature, now, engine.checks);
    const hold = { userId: body.userId, feature: body.feature, ttlSeconds: body.ttlSeconds ?? engine.config.holdTtlSeconds, maxOpenHolds: engine.config.maxOpenHolds };
    return checkAndHold(engine.ledger, hold, now, engine.accountGate);
  });

  mountRoute(app, gatingApi.release, async ({ params }) => {
    const result = await releaseHold(engine.ledger, params.reservationId, await engine.clock.now(), engine.accountGate);
    return { reservationId: params.reservationId, ...result };
  });
}
