import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenEngine } from '@token-engine/client';
import { ADMIN_KEY, API_KEY, call, cleanup, isolation } from '../support/engine.js';
import { spawnEngine, type EngineProcess } from '../support/processes.js';
import { threeHundredUsesOfAHundredTokens } from '../support/overspend.js';

describe('no overspend under concurrency: two API processes, two worker processes', () => {
  const iso = isolation();
  const processes: EngineProcess[] = [];
  let apis: string[] = [];
  // A service's clients, one per API process: a refused request (a 503 when the machine is overloaded)
  // is sent again with the same idempotency key, by the client itself.
  let clients: TokenEngine[] = [];
  const client = (i: number) => clients[i % clients.length]!;

  beforeAll(async () => {
    // The first process creates and migrates the database; the others then start side by side.
    processes.push(await spawnEngine({ ...iso.env, TOKENS_ROLES: 'api' }));
    processes.push(...(await Promise.all([
      spawnEngine({ ...iso.env, TOKENS_ROLES: 'api' }),
      spawnEngine({ ...iso.env, TOKENS_ROLES: 'workers' }),
      spawnEngine({ ...iso.env, TOKENS_ROLES: 'workers' }),
    ])));
    apis = processes.filter((p) => p.port).map((p) => `http://127.0.0.1:${p.port}`);
    expect(apis).toHaveLength(2);
    clients = apis.map((baseUrl) => new TokenEngine({ baseUrl, apiKey: API_KEY, retries: 5 }));
  });
  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await cleanup(iso.databaseUrl, iso.redisUrl, iso.prefix);
  });

  it('300 simultaneous 3-token uses against 100 tokens: exactly 33 applied, balance 1', async () => {
    await threeHundredUsesOfAHundredTokens(clients);
  });

  it('60 simultaneous reservations of 3 tokens out of 10: exactly 3 granted', async () => {
    await client(0).createAccount('reserver');
    const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => client(i).reserve('reserver', 'resume_upload')));
    const granted = answers.filter((a) => a.allowed);
    expect(granted).toHaveLength(3);
    expect(new Set(granted.map((a) => a.reservationId)).size).toBe(3);
    expect(answers.filter((a) => a.reason === 'insufficient_tokens')).toHaveLength(57);
    expect(await client(1).account('reserver')).toMatchObject({ balance: 1, held: 9 });
  });

  it('the test clock moved through one process is the time of every process', async () => {
    const moved = await call<any>(apis[0]!, ADMIN_KEY, 'POST', '/admin/api/clock', { advanceSeconds: 3600 });
    const seen = await call<any>(apis[1]!, ADMIN_KEY, 'GET', '/admin/api/clock');
    expect(seen.body.now).toBe(moved.body.now);
  });
});
