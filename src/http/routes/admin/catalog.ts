import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Engine } from '../../../engine.js';
import { changeFeature } from '../../../catalog/change-feature.js';
import { grantManually } from '../../../ledger/manual-grant.js';
import { listAudit } from '../../../audit/audit.js';
import { featureKeySchema, isoTimestamp, userIdSchema } from '../../../validation.js';
import { adminActor } from '../../auth.js';
import { defineRoute, mountRoute } from '../../route-definition.js';
import { isoTime } from '../../schemas/time.js';

/** The routes' definitions (zod schemas of params, query, body and answer), for validation and the API document. */
export const adminCatalogApi = {
  changeFeature: defineRoute({
    method: 'PUT',
    url: '/admin/api/features/:key',
    summary: "Change a feature's cost (a new price version in force from now: earlier uses keep theirs) or switch it on or off (audited)",
    params: z.object({ key: featureKeySchema }),
    body: z
      .strictObject({
        cost: z.number().int('cost must be a whole number of tokens').min(0, 'cost must be >= 0').max(1_000_000).optional(),
        enabled: z.boolean().optional(),
      })
      .refine((b) => b.cost !== undefined || b.enabled !== undefined, 'send cost and/or enabled'),
    answer: z.object({ key: z.string(), cost: z.number().int(), enabled: z.boolean(), effectiveFrom: isoTime }),
    errors: ['unknown_feature'],
  }),
  grant: defineRoute({
    method: 'POST',
    url: '/admin/api/accounts/:userId/grants',
    summary: 'Grant tokens to an account (a bonus or an adjustment), optionally expiring; audited',
    params: z.object({ userId: userIdSchema }),
    body: z.strictObject({
      tokens: z.number().int('tokens must be a whole number').min(1, 'tokens must be >= 1').max(10_000_000),
      reason: z.string().min(1, 'reason is required').max(500),
      expiresAt: isoTimestamp.optional(),
      idempotencyKey: z.string().min(1).max(200).optional().describe('retry safely: the same key grants once'),
    }),
    answer: z.object({ grantId: z.number().int().nullable(), duplicate: z.boolean(), balance: z.number().int() }),
    status: 201,
    otherStatuses: { 200: 'A grant with that idempotencyKey was made before: nothing changed' },
    errors: ['account_not_found', 'balance_limit_exceeded', 'account_busy'],
  }),
  audit: defineRoute({
    method: 'GET',
    url: '/admin/api/audit',
    summary: 'Every admin change: who, when, before and after; newest first',
    query: z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) }),
    answer: z.object({
      entries: z.array(z.object({ id: z.number().int(), actor: z.string(), action: z.string(), subject: z.string(), before: z.unknown(), after: z.unknown(), at: isoTime })),
    }),
  }),
} as const;

export function adminCatalogRoutes(app: FastifyInstance, engine: Engine): void {
  const r = adminCatalogApi;
  mountRoute(app, r.changeFeature, async ({ params, body, request }) => changeFeature(engine.db, params.key, body, adminActor(request), await engine.clock.now()));

  mountRoute(app, r.grant, async ({ params, body, request, status }) => {
    const result = await grantManually(
      engine.ledger,
      { userId: params.userId, ...body, expiresAt: body.expiresAt ? new Date(body.expiresAt) : undefined },
      adminActor(request),
      await engine.clock.now(),
      engine.accountGate,
    );
    if (result.duplicate) status(200);
    return result;
  });

  mountRoute(app, r.audit, async ({ query }) => ({ entries: await listAudit(engine.readDb, query.limit) }));
}
