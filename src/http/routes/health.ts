import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import type { Engine } from '../../engine.js';

async function probe(fn: () => Promise<unknown>, timeoutMs = 2000): Promise<'ok' | 'down'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'down'>((resolve) => (timer = setTimeout(() => resolve('down'), timeoutMs)));
  try {
    return await Promise.race([fn().then(() => 'ok' as const, () => 'down' as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export function healthRoutes(app: FastifyInstance, engine: Engine): void {
  app.get('/health', async (_request, reply) => {
    const [postgres, redis] = await Promise.all([
      probe(() => sql`select 1`.execute(engine.healthDb)),
      probe(() => engine.redis.ping()),
    ]);
    const down = [postgres === 'down' ? 'postgres' : null, redis === 'down' ? 'redis' : null].filter(Boolean);
    return reply.status(down.length ? 503 : 200).send({ postgres, redis, ...(down.length ? { down } : {}) });
  });
}
