import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, runJob, settled, startTestEngine, waitFor, type TestEngine } from '../support/engine.js';
import { startWebhookReceiver, webhookSecret } from '../notify/receivers.js';

const CHECKS = ['balance_ledger', 'balance_grants', 'non_negative', 'held_holds', 'held_ledger', 'usage_keys', 'usage_daily', 'activity_daily'];

describe('the reconcile job checks the ledger\'s invariants, reports what breaks them and fixes nothing', () => {
  let engine: TestEngine;
  let adminHook: Awaited<ReturnType<typeof startWebhookReceiver>>;
  const secret = webhookSecret();
  let key = 0;

  const db = () => engine.running.engine.db;
  const account = async (userId: string) => (await engine.api('GET', `/v1/accounts/${userId}`)).body;
  const alerts = async (query = '') => (await engine.admin('GET', `/admin/api/alerts${query}`)).body.alerts as any[];
  const reconcile = async () => (await runJob(engine, 'reconcile')) as any;
  const metrics = async () => (await call<string>(engine.baseUrl, null, 'GET', '/metrics')).body;
  const gauge = (text: string, check: string) => Number(new RegExp(`tokens_reconcile_violations\\{check="${check}"\\} (\\d+)`).exec(text)?.[1]);
  async function use(userId: string, feature: string, extra: Record<string, unknown> = {}) {
    const idempotencyKey = `rc-${++key}`;
    expect((await engine.api('POST', '/v1/usage', { userId, feature, idempotencyKey, ...extra })).status).toBe(202);
    return settled(engine, idempotencyKey);
  }
  /** Everything the job must leave alone, summed. */
  const ledgerState = async () =>
    (
      await sql<Record<string, number>>`select
        (select coalesce(sum(balance), 0) from accounts) as balances, (select coalesce(sum(held), 0) from accounts) as held,
        (select count(*) from ledger_entries) as entries, (select coalesce(sum(remaining), 0) from grants) as remaining,
        (select count(*) from holds where status = 'open') as open_holds, (select count(*) from usage_events) as events,
        (select coalesce(sum(tokens), 0) from usage_daily) as rolled_up`.execute(db())
    ).rows[0];

  beforeAll(async () => {
    adminHook = await startWebhookReceiver(secret);
    engine = await startTestEngine({ TOKENS_ALERT_WEBHOOK_URL: adminHook.url, TOKENS_NOTIFY_WEBHOOK_SECRET: secret });
    await engine.setClock('2026-12-01T09:00:00Z');
    // A day of ordinary life: plans, uses, a rejection, a hold used, one left open, an admin grant.
    await engine.api('POST', '/v1/accounts', { userId: 'ada', plan: 'monthly_pro' });
    await engine.api('POST', '/v1/accounts', { userId: 'bo' });
    await engine.api('POST', '/v1/accounts', { userId: 'cy' });
    await use('ada', 'resume_upload');
    await use('bo', 'cv_generator');
    expect(await use('bo', 'cv_generator')).toMatchObject({ status: 'applied', balanceAfter: 0 });
    expect(await use('bo', 'resume_upload')).toMatchObject({ status: 'rejected', reason: 'insufficient_tokens' });
    const hold = await engine.api('POST', '/v1/check', { userId: 'ada', feature: 'ai_interview_coach', reserve: true });
    await use('ada', 'ai_interview_coach', { reservationId: hold.body.reservationId });
    await engine.api('POST', '/v1/check', { userId: 'cy', feature: 'profile_basic', reserve: true });
    await engine.admin('POST', '/admin/api/accounts/cy/grants', { tokens: 20, reason: 'support', expiresAt: '2026-12-20T00:00:00Z' });
    await runJob(engine, 'rollups');
  });
  afterAll(async () => {
    await engine?.stop();
    await adminHook?.close();
  });

  it('a clean engine reports zero violations for every check, raises nothing, and the gauge reads 0', async () => {
    const result = await reconcile();
    expect(result).toMatchObject({ clean: true, accountsChecked: 3, raised: 0, resolved: 0, violations: [] });
    expect(result.daysChecked).toBeGreaterThanOrEqual(1);
    expect(Object.values(result.byCheck)).toEqual(CHECKS.map(() => 0));
    const text = await metrics();
    for (const check of CHECKS) expect(gauge(text, check)).toBe(0);
    expect(await alerts()).toEqual([]);
  });

  it('a balance altered behind the engine\'s back is found, reported once, and left as it is', async () => {
    const before = (await account('ada')).balance;
    await sql`update accounts set balance = balance + 5 where user_id = 'ada'`.execute(db());
    const tampered = await ledgerState();

    const result = await reconcile();
    expect(result.clean).toBe(false);
    expect(result.raised).toBe(2);
    expect(result.violations).toEqual([
      expect.objectContaining({ check: 'balance_ledger', userId: 'ada', expected: before, actual: before + 5, difference: 5 }),
      expect.objectContaining({ check: 'balance_grants', userId: 'ada', expected: before, actual: before + 5, difference: 5 }),
    ]);
    expect(result.byCheck).toMatchObject({ balance_ledger: 1, balance_grants: 1, held_holds: 0 });

    // Reported: the admin alerts list, the gauge, the admin webhook.
    const listed = await alerts();
    expect(listed.map((a): string => a.rule).sort()).toEqual(['reconcile:balance_grants', 'reconcile:balance_ledger']);
    expect(listed.find((a) => a.rule === 'reconcile:balance_ledger')).toMatchObject({
      userId: 'ada',
      observed: before + 5,
      threshold: before,
      message: expect.stringContaining('(+5)'),
      details: { check: 'balance_ledger', expected: before, actual: before + 5, difference: 5, resolvedAt: null },
      notificationId: expect.stringMatching(/^msg_/),
    });
    expect(await alerts('?rule=reconcile:balance_ledger&userId=ada')).toHaveLength(1);
    expect(await alerts('?rule=burst')).toEqual([]);
    const text = await metrics();
    expect(gauge(text, 'balance_ledger')).toBe(1);
    expect(gauge(text, 'balance_grants')).toBe(1);
    expect(gauge(text, 'held_holds')).toBe(0);
    const hooks = await waitFor(async () => {
      const got = adminHook.acknowledged().filter((r) => r.body.type === 'tokens.alert');
      return got.length === 2 ? got : undefined;
    }, 'the admin webhook to receive both alerts');
    expect(hooks.every((h) => h.verified)).toBe(true);
    expect(hooks.map((h) => h.body.data)).toContainEqual(
      expect.objectContaining({ userId: 'ada', rule: 'reconcile:balance_ledger', observed: before + 5, threshold: before, details: expect.objectContaining({ difference: 5 }) }),
    );

    // Nothing fixed: the balance stays altered, and nothing else moved.
    expect(await ledgerState()).toEqual(tampered);
    expect((await account('ada')).balance).toBe(before + 5);

    // A rerun finds the same and raises nothing new.
    const again = await reconcile();
    expect(again).toMatchObject({ clean: false, raised: 0, resolved: 0 });
    expect(again.violations).toHaveLength(2);
    expect(await alerts()).toHaveLength(2);
    expect(adminHook.requests.filter((r) => r.body.type === 'tokens.alert')).toHaveLength(2);
    expect(await ledgerState()).toEqual(tampered);

    // Once someone puts it right, the next run resolves the episode and the gauge returns to 0.
    await sql`update accounts set balance = balance - 5 where user_id = 'ada'`.execute(db());
    const fixed = await reconcile();
    expect(fixed).toMatchObject({ clean: true, raised: 0, resolved: 2 });
    expect(gauge(await metrics(), 'balance_ledger')).toBe(0);
    expect((await alerts()).map((a) => a.details.resolvedAt)).toEqual([expect.any(String), expect.any(String)]);
  });

  it('each check names what it found: held tokens, a negative grant, a use without its event, a rollup that overcounts', async () => {
    // Held tokens without a hold: cy's open hold closed behind the engine's back.
    await sql`update holds set status = 'released' where user_id = 'cy' and status = 'open'`.execute(db());
    // A grant taken below zero: the database refuses one, so this test drops its check constraint first.
    await sql`alter table grants drop constraint grants_check`.execute(db());
    await sql`update grants set remaining = -2 where id = (select min(id) from grants where user_id = 'bo')`.execute(db());
    // A use entry whose usage event vanished.
    const [ada] = (await sql<{ key: string }>`select idempotency_key as key from usage_events where user_id = 'ada' and status = 'applied' order by idempotency_key limit 1`.execute(db())).rows;
    await sql`delete from usage_events where idempotency_key = ${ada!.key}`.execute(db());
    // A rollup counting 5 tokens the ledger never charged.
    await sql`update usage_daily set tokens = tokens + 5 where day = '2026-12-01' and feature_key = 'resume_upload'`.execute(db());
    const tampered = await ledgerState();

    const result = await reconcile();
    const found = result.violations.map((v: any) => [v.check, v.userId ?? v.day, v.difference]);
    expect(found).toEqual([
      ['balance_grants', 'bo', 2],
      ['non_negative', 'bo', -2],
      ['held_holds', 'cy', 1],
      ['usage_keys', 'ada', 1],
      ['usage_daily', '2026-12-01', 5],
    ]);
    expect(result.byCheck).toMatchObject({ balance_ledger: 0, held_ledger: 0, activity_daily: 0 });
    const text = await metrics();
    expect([gauge(text, 'held_holds'), gauge(text, 'usage_keys'), gauge(text, 'balance_ledger')]).toEqual([1, 1, 0]);
    expect((await alerts('?rule=reconcile:usage_keys'))[0]).toMatchObject({
      userId: 'ada',
      details: { keys: [{ key: ada!.key, status: null, uses: 1 }] },
    });
    expect((await alerts('?rule=reconcile:usage_daily'))[0]).toMatchObject({ userId: null, details: { day: '2026-12-01', difference: 5 } });
    expect(await ledgerState()).toEqual(tampered);
  });
});
