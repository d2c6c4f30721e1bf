import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Engine } from '../../engine.js';
import { EngineError } from '../../errors.js';
import { idempotencyKeySchema, usageBatchSchema, usageEventSchema, type UsageEvent } from '../../usage/usage-event.js';
import { usageStatus } from '../../usage/usage-status.js';
import { describeIssues } from '../../validation.js';
import { parse } from '../errors.js';

export function usageRoutes(app: FastifyInstance, engine: Engine): void {
  app.post('/v1/usage', async (request, reply) => {
    const event = parse(usageEventSchema, request.body, 'usage event');
    await engine.intake.accept([event]);
    return reply.status(202).send({ status: 'queued', idempotencyKey: event.idempotencyKey });
  });

  app.post('/v1/usage/batch', async (request, reply) => {
    const { events: raw } = parse(usageBatchSchema, request.body, 'usage batch');
    // All or nothing: one malformed event refuses the batch, naming every bad event by index.
    const problems: Array<{ index: number; path: string; message: string }> = [];
    const events: UsageEvent[] = [];
    raw.forEach((item, index) => {
      const r = usageEventSchema.safeParse(item);
      if (r.success) events.push(r.data);
      else problems.push(...describeIssues(r.error).map((i) => ({ index, ...i })));
    });
    if (problems.length > 0) {
      throw new EngineError('validation_failed', `${new Set(problems.map((p) => p.index)).size} of ${raw.length} events are invalid; none was queued`, problems);
    }
    const accepted = new Map((await engine.intake.accept(events)).map((r) => [r.idempotencyKey, r]));
    return reply.status(202).send({ status: 'queued', results: events.map((e) => accepted.get(e.idempotencyKey)!) });
  });

  app.get('/v1/usage/:idempotencyKey', async (request) => {
    const { idempotencyKey } = parse(z.object({ idempotencyKey: idempotencyKeySchema }), request.params, 'idempotencyKey');
    return usageStatus(engine.db, engine.intake, idempotencyKey);
  });
}
