import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { z } from 'zod';
import type { Engine } from '../../engine.js';
import { defineRoute, mountRoute } from '../route-definition.js';

async function probe(fn: () => Promise<unknown>, timeoutMs = 2000): Promise<'ok' | 'down'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'down'>((resolve) => (timer = setTimeout(() => resolve('down'), timeoutMs)));
  try {
    return await Promise.race([fn().then(() => 'ok' as const, () => 'down' as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const state = z.enum(['ok', 'down']);

/** The routes' definitions (zod schemas of params, query, body and answer), for validation and the API document. */
export const healthApi = {
  health: defineRoute({
    method: 'GET',
    url: '/health',
    summary: 'Whether PostgreSQL and Redis answer this process',
    answer: z.object({ postgres: state, redis: state, down: z.array(z.enum(['postgres', 'redis'])).optional() }).describe('Both answer'),
    otherStatuses: { 503: 'One is down: `down` names it' },
    // It reports the dependencies rather than failing with them.
    standalone: true,
  }),
} as const;

export function healthRoutes(app: FastifyInstance, engine: Engine): void {
  mountRoute(app, healthApi.health, async ({ status }) => {
    const [postgres, redis] = await Promise.all([
      probe(() => sql`select 1`.execute(engine.healthDb)),
      probe(() => engine.redis.ping()),
    ]);
    const down = (['postgres', 'redis'] as const).filter((name) => ({ postgres, redis })[name] === 'down');
    if (down.length) status(503);
    return { postgres, redis, ...(down.length ? { down } : {}) };
  });
}
