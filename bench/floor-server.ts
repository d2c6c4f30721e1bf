// The floor: a bare Fastify server doing the least I/O the engine's two hottest answers need, on the
// same PostgreSQL and Redis, for `npm run bench` to measure the engine against (bench/floor.ts).
// - POST /v1/check: one prepared query reading the account's balance and the feature's price now.
// - POST /v1/usage: one prepared query ("the account exists, the key has not settled"), a Redis SET NX
//   of the key and an RPUSH of the event, then 202: three round trips, the event in Redis before the 202.
// No validation beyond what the answers need, no metrics, no logging. Run as its own process:
//   DATABASE_URL=... REDIS_URL=... FLOOR_PREFIX=... PORT=... FLOOR_API_KEY=... node --import tsx bench/floor-server.ts
import { createHash } from 'node:crypto';
import Fastify from 'fastify';
import pg from 'pg';
import { Redis } from 'ioredis';
import { withDefaultUser } from '../src/db/database.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};

const prefix = env('FLOOR_PREFIX');
const bearer = `Bearer ${env('FLOOR_API_KEY')}`;
// The engine's API pool is 10 connections; the floor gets as many.
const pool = new pg.Pool({ connectionString: withDefaultUser(env('DATABASE_URL')), max: 10 });
const redis = new Redis(env('REDIS_URL'));

const CHECK = `select a.balance,
  (select p.cost from feature_prices p where p.feature_key = $2 and p.effective_from <= $3 order by p.effective_from desc limit 1) as cost
  from accounts a where a.user_id = $1`;
const USAGE = `select exists (select 1 from accounts where user_id = $1) as account,
  exists (select 1 from usage_events where idempotency_key = $2) as settled`;

interface Body {
  userId?: unknown;
  feature?: unknown;
  idempotencyKey?: unknown;
}

const app = Fastify({ logger: false });

app.addHook('onRequest', async (request, reply) => {
  if (request.url !== '/health' && request.headers.authorization !== bearer) return reply.status(401).send({ error: { code: 'unauthorized' } });
});

app.post('/v1/check', async (request, reply) => {
  const { userId, feature } = request.body as Body;
  if (typeof userId !== 'string' || typeof feature !== 'string') return reply.status(400).send({ error: { code: 'validation_failed' } });
  const { rows } = await pool.query<{ balance: string; cost: string | null }>({ name: 'floor-check', text: CHECK, values: [userId, feature, new Date()] });
  const row = rows[0];
  if (!row) return { allowed: false, cost: 0, balance: 0, reason: 'account_not_found' };
  const balance = Number(row.balance);
  const cost = Number(row.cost ?? 0);
  return balance >= cost ? { allowed: true, cost, balance } : { allowed: false, cost, balance, reason: 'insufficient_tokens' };
});

app.post('/v1/usage', async (request, reply) => {
  const body = request.body as Body;
  const { userId, feature, idempotencyKey } = body;
  if (typeof userId !== 'string' || typeof feature !== 'string' || typeof idempotencyKey !== 'string') {
    return reply.status(400).send({ error: { code: 'validation_failed' } });
  }
  const { rows } = await pool.query<{ account: boolean; settled: boolean }>({ name: 'floor-usage', text: USAGE, values: [userId, idempotencyKey] });
  if (!rows[0]!.account) return reply.status(404).send({ error: { code: 'account_not_found' } });
  if (rows[0]!.settled) return reply.status(409).send({ error: { code: 'idempotency_conflict' } });
  const event = JSON.stringify({ userId, feature, idempotencyKey, occurredAt: new Date().toISOString() });
  const hash = createHash('sha256').update(event).digest('base64url');
  const claimed = await redis.set(`${prefix}:key:${idempotencyKey}`, hash, 'EX', 86_400, 'NX');
  if (claimed === null) return reply.status(409).send({ error: { code: 'idempotency_conflict' } });
  await redis.rpush(`${prefix}:events`, event);
  return reply.status(202).send({ status: 'queued', idempotencyKey });
});

app.get('/health', async () => ({ status: 'ok' }));

const close = async () => {
  await app.close();
  await pool.end();
  redis.disconnect();
  process.exit(0);
};
process.once('SIGTERM', () => void close());
process.once('SIGINT', () => void close());

await app.listen({ host: '127.0.0.1', port: Number(env('PORT')) });
