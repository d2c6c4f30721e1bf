import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Engine } from '../../../engine.js';
import { createRedis } from '../../../redis.js';
import { LiveFeedHub, type LiveEntry } from '../../../insight/live-feed.js';
import { parse } from '../../errors.js';
import { defineRoute } from '../../route-definition.js';

const liveUseSchema = z.object({
  idempotencyKey: z.string(),
  userId: z.string(),
  feature: z.string(),
  status: z.enum(['applied', 'rejected']),
  cost: z.number().int(),
  balanceAfter: z.number().int().nullable(),
  reason: z.string().nullable(),
});

/** The `data` of each `usage` event of the stream: one committed usage transaction. */
export const liveBatchSchema = z.object({
  id: z.string().describe('the event id (also in the SSE `id` field)'),
  committedAt: z.number().int().describe('wall-clock milliseconds when the applying transaction committed'),
  appliedAt: z.string(),
  totals: z.object({ applied: z.number().int(), rejected: z.number().int(), tokens: z.number().int() }),
  uses: z.array(liveUseSchema),
  more: z.number().int().describe('uses of the transaction not listed'),
});

/** The routes' definitions (zod schemas of params, query, body and answer), for validation and the API document. */
export const adminLiveApi = {
  feed: defineRoute({
    method: 'GET',
    url: '/admin/api/live',
    summary:
      'Server-Sent Events (text/event-stream): one `usage` event per committed usage transaction, uses and rejections as they are applied; first the recent ones (or those after Last-Event-ID)',
    query: z.object({ recent: z.coerce.number().int().min(0).max(500).default(50) }),
    answer: liveBatchSchema,
    answerType: 'text/event-stream',
  }),
} as const;

const HEARTBEAT_MS = 15_000;

/** The live feed, fanned out from the engine's Redis stream to every console connected to this process. */
export function adminLiveRoutes(app: FastifyInstance, engine: Engine): void {
  const hub = new LiveFeedHub(
    engine.redis,
    () => createRedis(engine.config, 'blocking', { connectionName: 'tokens-live-feed' }),
    engine.config.keyPrefix,
    engine.log,
  );
  const streams = new Set<() => void>();
  // Open streams never go idle: end them first, or closing the server would wait for them for ever.
  app.addHook('preClose', async () => {
    for (const end of streams) end();
    await hub.close();
  });

  app.get(adminLiveApi.feed.url, async (request, reply) => {
    const { recent } = parse(adminLiveApi.feed.query, request.query, 'query');
    const lastEventId = request.headers['last-event-id'];
    const resumeFrom = typeof lastEventId === 'string' && /^\d{1,20}-\d{1,20}$/.test(lastEventId) ? lastEventId : undefined;
    const res = reply.raw;
    const write = (entry: LiveEntry) => res.write(`id: ${entry.id}\nevent: usage\ndata: ${JSON.stringify({ id: entry.id, ...entry.batch })}\n\n`);
    const subscription = await hub.subscribe(write, { recent, lastEventId: resumeFrom });

    reply.hijack();
    // Headers hooks set before the hijack (security headers) go out with the stream's own.
    for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) res.setHeader(name, value);
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    for (const entry of subscription.backlog) write(entry);
    const heartbeat = setInterval(() => res.write(': ping\n\n'), HEARTBEAT_MS);
    const end = () => {
      clearInterval(heartbeat);
      subscription.unsubscribe();
      streams.delete(end);
      res.end();
    };
    streams.add(end);
    res.on('close', end);
  });
}
