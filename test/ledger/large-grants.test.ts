import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_ACCOUNT_TOKENS } from '../../src/ledger/account-book.js';
import { runJob, startTestEngine, type TestEngine } from '../support/engine.js';
import { engineState } from '../support/state.js';

const GRANT = 10_000_000;

describe('large grants: no arithmetic overflows, and a grant past what an account may hold is a 400', () => {
  let engine: TestEngine;
  const grant = (tokens: number) => engine.admin('POST', '/admin/api/accounts/whale/grants', { tokens, reason: 'a very large customer' });

  beforeAll(async () => {
    engine = await startTestEngine();
    await engine.setClock('2026-12-01T00:00:00Z');
    await engine.api('POST', '/v1/accounts', { userId: 'whale', plan: 'monthly_pro' });
  });
  afterAll(async () => engine?.stop());

  it('three grants of 10,000,000 keep analytics and the admin page answering (90 × allocated no longer overflows)', async () => {
    for (let i = 0; i < 3; i++) expect((await grant(GRANT)).status).toBe(201);
    const spent = await engine.api('POST', '/v1/usage', { userId: 'whale', feature: 'custom_ai_training', idempotencyKey: 'w-1' });
    expect(spent.status).toBe(202);
    await runJob(engine, 'rollups');
    const analytics = await engine.admin('GET', '/admin/api/analytics');
    expect(analytics.status).toBe(200);
    expect(analytics.body.usersNearLimit).toEqual([]);
    expect((await engine.admin('GET', '/admin')).status).toBe(200);
  });

  it(`a grant that would take the account past ${MAX_ACCOUNT_TOKENS} tokens is refused and changes nothing`, async () => {
    // Up to just under the limit, ten million at a time.
    let balance = (await engine.api('GET', '/v1/accounts/whale')).body;
    const room = MAX_ACCOUNT_TOKENS - Math.max(balance.balance + balance.held, balance.allocatedThisPeriod);
    for (let i = 0; i < Math.floor(room / GRANT); i++) expect((await grant(GRANT)).status).toBe(201);
    const before = await engineState(engine);
    const over = await grant(GRANT);
    expect([over.status, over.body.error.code]).toEqual([400, 'balance_limit_exceeded']);
    expect(over.body.error.details).toMatchObject({ userId: 'whale', tokens: GRANT, limit: MAX_ACCOUNT_TOKENS });
    expect(await engineState(engine)).toEqual(before);

    balance = (await engine.api('GET', '/v1/accounts/whale')).body;
    const exact = MAX_ACCOUNT_TOKENS - Math.max(balance.balance + balance.held, balance.allocatedThisPeriod);
    expect((await grant(exact)).status).toBe(201);
    expect((await engine.admin('GET', '/admin/api/analytics')).status).toBe(200);
    expect((await engine.api('GET', '/v1/accounts/whale/dashboard')).status).toBe(200);
  });
});
