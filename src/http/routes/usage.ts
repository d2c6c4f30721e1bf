import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Engine } from '../../engine.js';
import { EngineError } from '../../errors.js';
import { idempotencyKeySchema, MAX_BATCH, usageBatchSchema, usageEventSchema, type UsageEvent } from '../../usage/usage-event.js';
import { describeIssues } from '../../validation.js';
import { usageStatus } from '../../usage/usage-status.js';
import { defineRoute, mountRoute } from '../route-definition.js';
import { isoTime } from '../schemas/time.js';

const intakeErrors = ['unknown_feature', 'account_not_found', 'idempotency_conflict', 'occurred_at_out_of_range', 'backlogged'] as const;

/** The routes' definitions (zod schemas of params, query, body and answer), for validation and the API document. */
export const usageApi = {
  record: defineRoute({
    method: 'POST',
    url: '/v1/usage',
    summary: 'Report one use of a feature; applied once per idempotencyKey, whatever the retries',
    description:
      'Accepted and queued; a worker applies it to the ledger (poll `GET /v1/usage/{idempotencyKey}`). The same key with the same payload is accepted again and applied once; with another payload it is 409 `idempotency_conflict`. A use that would take the balance below zero is `rejected` with `insufficient_tokens` and deducts nothing. While the backlog is over TOKENS_USAGE_MAX_BACKLOG, 429 `backlogged` with `Retry-After`.',
    body: usageEventSchema.meta({ id: 'UsageEvent' }),
    answer: z.object({ status: z.literal('queued'), idempotencyKey: z.string() }),
    status: 202,
    errors: intakeErrors,
  }),
  recordBatch: defineRoute({
    method: 'POST',
    url: '/v1/usage/batch',
    summary: `Report up to ${MAX_BATCH} uses at once: all are accepted or none`,
    // Each event is judged on its own (below), so that a refusal names every bad one by its index.
    body: usageBatchSchema.extend({ events: usageBatchSchema.shape.events.meta({ override: { items: { $ref: '#/components/schemas/UsageEvent' } } }) }),
    answer: z.object({
      status: z.literal('queued'),
      results: z.array(z.object({ idempotencyKey: z.string(), status: z.enum(['queued', 'applied', 'rejected']).describe('applied or rejected: a replay of a settled event') })),
    }),
    status: 202,
    errors: intakeErrors,
  }),
  status: defineRoute({
    method: 'GET',
    url: '/v1/usage/:idempotencyKey',
    summary: 'What became of a usage event: queued, applied (with the balance after it) or rejected (with why)',
    params: z.object({ idempotencyKey: idempotencyKeySchema }),
    answer: z
      .object({
        idempotencyKey: z.string(),
        userId: z.string(),
        feature: z.string(),
        status: z.enum(['queued', 'applied', 'rejected']),
        cost: z.number().int().describe('charged, or quoted while queued'),
        balanceAfter: z.number().int().optional(),
        reason: z.string().optional().describe('why it was rejected: insufficient_tokens, ...'),
        occurredAt: isoTime,
      })
      .meta({ id: 'UsageStatus' }),
    errors: ['usage_not_found'],
  }),
} as const;

export function usageRoutes(app: FastifyInstance, engine: Engine): void {
  mountRoute(app, usageApi.record, async ({ body }) => {
    await engine.intake.accept([body]);
    return { status: 'queued' as const, idempotencyKey: body.idempotencyKey };
  });

  mountRoute(app, usageApi.recordBatch, async ({ body }) => {
    // All or nothing: one malformed event refuses the batch, naming every bad event by index.
    const problems: Array<{ index: number; path: string; message: string }> = [];
    const events: UsageEvent[] = [];
    body.events.forEach((item, index) => {
      const r = usageEventSchema.safeParse(item);
      if (r.success) events.push(r.data);
      else problems.push(...describeIssues(r.error).map((i) => ({ index, ...i })));
    });
    if (problems.length > 0) {
      throw new EngineError('validation_failed', `${new Set(problems.map((p) => p.index)).size} of ${body.events.length} events are invalid; none was queued`, problems);
    }
    const accepted = new Map((await engine.intake.accept(events)).map((r) => [r.idempotencyKey, r]));
    return { status: 'queued' as const, results: events.map((e) => accepted.get(e.idempotencyKey)!) };
  });

  mountRoute(app, usageApi.status, async ({ params }) => usageStatus(engine.db, engine.intake, params.idempotencyKey));
}
