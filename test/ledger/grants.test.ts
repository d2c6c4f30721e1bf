import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { runJob, settled, startTestEngine, type TestEngine } from '../support/engine.js';

describe('grants: soonest-expiring first, expiry, and a floor the database enforces', () => {
  let engine: TestEngine;
  beforeAll(async () => {
    engine = await startTestEngine();
    await engine.setClock('2026-12-01T00:00:00Z');
  });
  afterAll(async () => engine?.stop());

  it('spends the grant that expires soonest first, then the plan allocation, then tokens that never expire', async () => {
    await engine.api('POST', '/v1/accounts', { userId: 'saver' }); // 10 plan tokens, expiring 2027-01-01
    const forever = await engine.admin('POST', '/admin/api/accounts/saver/grants', { tokens: 4, reason: 'goodwill' });
    expect(forever.status).toBe(201);
    const soon = await engine.admin('POST', '/admin/api/accounts/saver/grants', { tokens: 3, reason: 'promo', expiresAt: '2026-12-10T00:00:00Z' });
    expect(soon.body).toMatchObject({ balance: 17 });

    await engine.api('POST', '/v1/usage', { userId: 'saver', feature: 'cv_generator', idempotencyKey: 's-1' }); // 5
    await settled(engine, 's-1');
    // 3 from the promo, 2 from the plan allocation: on 2026-12-10 nothing expires, the 4 forever tokens stay.
    await engine.setClock('2026-12-11T00:00:00Z');
    await runJob(engine, 'holds');
    expect((await engine.api('GET', '/v1/accounts/saver')).body.balance).toBe(12);
    await engine.setClock('2027-01-02T00:00:00Z');
    await runJob(engine, 'holds');
    expect((await engine.api('GET', '/v1/accounts/saver')).body.balance).toBe(4);
    const entries = (await engine.api('GET', '/v1/accounts/saver/ledger')).body.entries;
    expect(entries[0]).toMatchObject({ kind: 'expiry', amount: -8, balanceAfter: 4 });
  });

  it('an expired grant is not spendable even before the sweep removes it', async () => {
    await engine.api('POST', '/v1/accounts', { userId: 'late-sweep' }); // plan tokens expire 2027-02-02
    await engine.admin('POST', '/admin/api/accounts/late-sweep/grants', { tokens: 50, reason: 'trial', expiresAt: '2027-01-03T00:00:00Z' });
    await engine.setClock('2027-01-04T00:00:00Z');
    const check = await engine.api('POST', '/v1/check', { userId: 'late-sweep', feature: '09_Mentorship_Hub.py' });
    expect(check.body).toMatchObject({ allowed: false, reason: 'insufficient_tokens', balance: 10 });
    expect((await engine.api('GET', '/v1/accounts/late-sweep')).body.balance).toBe(10);
  });

  it('the database refuses a negative balance or an overspent grant, whatever the code path', async () => {
    const db = engine.running.engine.db;
    await expect(sql`update accounts set balance = -1 where user_id = 'saver'`.execute(db)).rejects.toThrow(/check constraint/);
    await expect(sql`update grants set remaining = -1 where user_id = 'saver'`.execute(db)).rejects.toThrow(/check constraint/);
    await expect(sql`update grants set remaining = tokens + 1 where user_id = 'saver'`.execute(db)).rejects.toThrow(/check constraint/);
    await expect(sql`update accounts set held = -5 where user_id = 'saver'`.execute(db)).rejects.toThrow(/check constraint/);
  });

  it('a grant changed by a hand-written statement counts at once: the check sees when the earliest one now expires', async () => {
    const db = engine.running.engine.db;
    await engine.setClock('2027-01-04T00:00:00Z');
    await engine.api('POST', '/v1/accounts', { userId: 'by-hand' }); // 10 plan tokens
    await engine.admin('POST', '/admin/api/accounts/by-hand/grants', { tokens: 20, reason: 'promo', expiresAt: '2027-03-01T00:00:00Z' });
    const balance = async () => (await engine.api('POST', '/v1/check', { userId: 'by-hand', feature: 'profile_basic' })).body.balance as number;
    expect(await balance()).toBe(30);
    // An operator ends the promo early, outside the engine: spendable at once, before any sweep.
    await sql`update grants set expires_at = '2027-01-03T00:00:00Z' where user_id = 'by-hand' and source = 'adjustment'`.execute(db);
    expect(await balance()).toBe(10);
    // And brings it back; then gives tokens that expired long ago back to it (a spent grant made live again).
    await sql`update grants set expires_at = '2027-03-01T00:00:00Z' where user_id = 'by-hand' and source = 'adjustment'`.execute(db);
    expect(await balance()).toBe(30);
    await sql`update grants set remaining = 0 where user_id = 'by-hand' and source = 'adjustment'`.execute(db);
    await sql`update accounts set balance = 10 where user_id = 'by-hand'`.execute(db);
    expect(await balance()).toBe(10);
    await sql`update grants set expires_at = '2027-01-02T00:00:00Z' where user_id = 'by-hand' and source = 'adjustment'`.execute(db);
    await sql`update grants set remaining = 20 where user_id = 'by-hand' and source = 'adjustment'`.execute(db);
    await sql`update accounts set balance = 30 where user_id = 'by-hand'`.execute(db);
    expect(await balance()).toBe(10);
  });
});
