import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJob, startTestEngine, type TestEngine } from '../support/engine.js';
import { ledger, renewAt } from '../billing/cycle.js';

describe('seasonal campaigns: a bonus once per account per campaign', () => {
  let engine: TestEngine;
  const bonus = async (userId: string) => (await ledger(engine, userId)).filter((e) => e.source === 'bonus:campaign:winter-week');
  beforeAll(async () => {
    engine = await startTestEngine();
    await engine.setClock('2026-11-25T00:00:00Z');
    await engine.api('POST', '/v1/accounts', { userId: 'early', plan: 'monthly_pro' });
    await engine.api('POST', '/v1/accounts', { userId: 'free', plan: 'free_starter' });
    await engine.setClock('2026-11-28T00:00:00Z');
    await engine.api('POST', '/v1/accounts', { userId: 'renewer', plan: 'monthly_pro' }); // its period ends 2026-12-28 ... renewed inside the window below
  });
  afterAll(async () => engine?.stop());

  it('+20 tokens for monthly_pro over a week: existing, new and renewing accounts each get it once, free accounts none', async () => {
    const put = await engine.admin('PUT', '/admin/api/campaigns/winter-week', {
      name: 'Winter week',
      startsAt: '2026-12-20T00:00:00Z',
      endsAt: '2026-12-27T00:00:00Z',
      plans: ['monthly_pro'],
      bonus: { tokens: 20 },
    });
    expect(put.status).toBe(200);
    await runJob(engine, 'campaigns'); // before the window: nothing
    expect(await bonus('early')).toHaveLength(0);

    await engine.setClock('2026-12-20T00:00:00Z');
    await runJob(engine, 'campaigns');
    const [early] = await bonus('early');
    expect(early).toMatchObject({ amount: 20 });
    expect((await bonus('renewer'))).toHaveLength(1);
    expect(await bonus('free')).toHaveLength(0);

    // A new account joins during the window; the early one renews during it.
    await engine.setClock('2026-12-22T00:00:00Z');
    await engine.api('POST', '/v1/accounts', { userId: 'joiner', plan: 'monthly_pro' });
    await renewAt(engine, '2026-12-25T00:00:00Z', 'early');
    await runJob(engine, 'campaigns');
    await runJob(engine, 'campaigns');
    for (const userId of ['early', 'renewer', 'joiner']) expect(await bonus(userId)).toHaveLength(1);
    expect(await bonus('free')).toHaveLength(0);

    // After the window nobody new gets it.
    await engine.setClock('2026-12-27T00:00:00Z');
    await engine.api('POST', '/v1/accounts', { userId: 'late', plan: 'monthly_pro' });
    await runJob(engine, 'campaigns');
    expect(await bonus('late')).toHaveLength(0);
  });

  it('the bonus expires with the account period unless the campaign says when', async () => {
    const [grant] = await bonus('joiner');
    const expiries = await engine.running.engine.db.selectFrom('grants').select(['expires_at']).where('id', '=', grant.grantId).execute();
    expect(expiries[0]!.expires_at!.toISOString()).toBe('2027-01-22T00:00:00.000Z');
  });

  it('lists campaigns, audits changes, refuses bad ones', async () => {
    expect((await engine.admin('GET', '/admin/api/campaigns')).body.campaigns.map((c: any) => c.id)).toEqual(['winter-week']);
    const bad = [
      { name: 'x', startsAt: '2027-01-02T00:00:00Z', endsAt: '2027-01-01T00:00:00Z', bonus: { tokens: 5 } },
      { name: 'x', startsAt: '2027-01-01T00:00:00Z', endsAt: '2027-01-02T00:00:00Z', bonus: {} },
      { name: 'x', startsAt: '2027-01-01T00:00:00Z', endsAt: '2027-01-02T00:00:00Z', bonus: { tokens: -5 } },
    ];
    for (const body of bad) expect((await engine.admin('PUT', '/admin/api/campaigns/bad', body)).status).toBe(400);
    const unknownPlan = await engine.admin('PUT', '/admin/api/campaigns/bad', { name: 'x', startsAt: '2027-01-01T00:00:00Z', endsAt: '2027-01-02T00:00:00Z', plans: ['gold'], bonus: { tokens: 5 } });
    expect(unknownPlan.body.error.code).toBe('unknown_plan');
    expect((await engine.admin('GET', '/admin/api/campaigns')).body.campaigns).toHaveLength(1);
    expect((await engine.admin('GET', '/admin/api/audit')).body.entries[0]).toMatchObject({ action: 'campaign.create', subject: 'campaign:winter-week' });
  });
});
