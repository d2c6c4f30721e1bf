import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLedger, type Ledger, type LedgerObserver } from '../../src/ledger/run-ledger.js';
import { deliveryJobId } from '../../src/notify/delivery-jobs.js';
import { startTestEngine, waitFor, type TestEngine } from '../support/engine.js';

const NOW = new Date('2026-12-01T00:00:00Z');

describe('the ledger unit of work: one way in, everything flushed, observers told after the commit', () => {
  let engine: TestEngine;
  let ledger: Ledger;
  const db = () => engine.running.engine.db;
  const account = async (userId: string) => (await engine.api('GET', `/v1/accounts/${userId}`)).body;
  const entries = async (userId: string) =>
    (await sql<{ kind: string; amount: number; grant_id: number | null }>`select kind, amount, grant_id from ledger_entries where user_id = ${userId} order by id`.execute(db())).rows;
  const grantsKeyed = async (key: string) => (await sql<{ id: number; remaining: number }>`select id, remaining from grants where idempotency_key = ${key}`.execute(db())).rows;
  const warnings = async (userId: string) =>
    (await sql<{ id: string; level: number }>`select id, (data->>'level')::int as level from notifications where type = 'tokens.warning' and user_id = ${userId} order by (data->>'level')::int`.execute(db())).rows;

  beforeAll(async () => {
    engine = await startTestEngine();
    await engine.setClock(NOW.toISOString());
    ledger = engine.running.engine.ledger;
    for (const userId of ['amy', 'zed', 'pat', 'wes', 'ria', 'ola']) {
      expect((await engine.api('POST', '/v1/accounts', { userId, plan: 'monthly_pro' })).status).toBe(201); // 100 tokens
    }
  });
  afterAll(async () => engine?.stop());

  it('a grant is only in memory until the flush, and the unit flushes it without being asked: row, balance and entry together', async () => {
    const before = await entries('amy');
    let rowsInside: number | undefined;
    const grantId = await runLedger(ledger, NOW, ['amy'], async (books, { trx }) => {
      const id = await books.get('amy')!.grant(trx, { source: 'bonus', tokens: 7, expiresAt: null, idempotencyKey: 'uow:kept', occurredAt: NOW });
      rowsInside = (await sql<{ n: number }>`select count(*) as n from grants where idempotency_key = 'uow:kept'`.execute(trx)).rows[0]!.n;
      return id;
    });
    expect(rowsInside).toBe(0);
    expect(await grantsKeyed('uow:kept')).toEqual([{ id: grantId, remaining: 7 }]);
    expect((await entries('amy')).slice(before.length)).toEqual([{ kind: 'grant', amount: 7, grant_id: grantId }]);
    expect(await account('amy')).toMatchObject({ balance: 107 });
  });

  it('a unit whose work throws after a grant and a use commits nothing: no grant without its entry, no entry without its balance', async () => {
    const before = await entries('pat');
    await expect(
      runLedger(ledger, NOW, ['pat'], async (books, { trx }) => {
        const book = books.get('pat')!;
        await book.grant(trx, { source: 'bonus', tokens: 50, expiresAt: null, idempotencyKey: 'uow:thrown', occurredAt: NOW });
        book.use(30, { occurredAt: NOW, featureKey: 'resume_upload' });
        throw new Error('the caller changed its mind');
      }),
    ).rejects.toThrow('the caller changed its mind');
    expect(await grantsKeyed('uow:thrown')).toEqual([]);
    expect(await entries('pat')).toEqual(before);
    expect(await account('pat')).toMatchObject({ balance: 100, usedThisPeriod: 0 });
    // The key was never taken: granting it again works, once.
    const again = () =>
      runLedger(ledger, NOW, ['pat'], (books, { trx }) =>
        books.get('pat')!.grant(trx, { source: 'bonus', tokens: 50, expiresAt: null, idempotencyKey: 'uow:thrown', occurredAt: NOW }),
      );
    expect(await again()).toEqual(expect.any(Number));
    expect(await again()).toBeNull();
    expect(await account('pat')).toMatchObject({ balance: 150 });
  });

  it('locks in key order whatever order the caller names the accounts in', async () => {
    // Another transaction holds "zed"; a unit naming ["zed", "amy"] must already hold "amy" while it waits.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let holding!: () => void;
    const isHolding = new Promise<void>((resolve) => (holding = resolve));
    const holder = db()
      .transaction()
      .execute(async (trx) => {
        await sql`select 1 from accounts where user_id = 'zed' for update`.execute(trx);
        holding();
        await held;
      });
    await isHolding;
    const unit = runLedger(ledger, NOW, ['zed', 'amy'], async (books) => [...books.keys()]);
    await waitFor(
      async () => (await sql<{ n: number }>`select count(*) as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`.execute(db())).rows[0]!.n === 1,
      'the unit to wait for "zed"',
    );
    await expect(
      db()
        .transaction()
        .execute((trx) => sql`select 1 from accounts where user_id = 'amy' for update nowait`.execute(trx)),
    ).rejects.toThrow(/could not obtain lock/);
    release();
    await holder;
    expect(await unit).toEqual(['amy', 'zed']);
  });

  it('two units over the same accounts named in opposite orders, run at once, both commit: no deadlock', async () => {
    const before = { wes: (await account('wes')).balance, ria: (await account('ria')).balance };
    const spendBoth = (order: string[]) =>
      runLedger(ledger, NOW, order, async (books, { trx }) => {
        for (const userId of order) books.get(userId)!.use(1, { occurredAt: NOW, featureKey: 'resume_upload' });
        await sql`select pg_sleep(0.02)`.execute(trx);
      });
    await Promise.all(Array.from({ length: 12 }, (_, i) => spendBoth(i % 2 === 0 ? ['wes', 'ria'] : ['ria', 'wes'])));
    expect((await account('wes')).balance).toBe(before.wes - 12);
    expect((await account('ria')).balance).toBe(before.ria - 12);
  });

  describe('the observer sees every crossing', () => {
    /** The engine's own observers, plus one that reports what it saw inside the transaction and after it. */
    const probed = (seen: string[], failInside = false): Ledger => {
      const probe: LedgerObserver = {
        open: () => ({
          async flushed(trx, accounts) {
            for (const a of accounts) {
              const inside = (await sql<{ n: number }>`select count(*) as n from notifications where user_id = ${a.user_id}`.execute(trx)).rows[0]!.n;
              const outside = (await warnings(a.user_id)).length;
              seen.push(`flushed ${a.user_id}: ${inside} inside, ${outside} committed`);
            }
            if (failInside) throw new Error('rolled back after the flush');
          },
          async committed() {
            seen.push('committed');
          },
        }),
      };
      return { db: ledger.db, observers: [...ledger.observers, probe] };
    };
    const spend = (l: Ledger, userId: string, tokens: number, fail = false) =>
      runLedger(l, NOW, [userId], async (books) => {
        books.get(userId)!.use(tokens, { occurredAt: NOW, featureKey: 'resume_upload' });
        if (fail) throw new Error('rolled back');
      });
    const deliveryJobs = async (userId: string) => {
      const { rows } = await sql<{ id: number; round: number }>`
        select d.id, d.round from notification_deliveries d join notifications n on n.id = d.notification_id where n.user_id = ${userId}`.execute(db());
      const jobs = await Promise.all(rows.map((d) => engine.running.engine.queues.notification.getJob(deliveryJobId(d))));
      return { deliveries: rows.length, queued: jobs.filter(Boolean).length };
    };

    it('90, 95 and 100 are each recorded once, in the transaction of the change, and queued only after it committed', async () => {
      const seen: string[] = [];
      await spend(probed(seen), 'ola', 90);
      expect(seen).toEqual(['flushed ola: 1 inside, 0 committed', 'committed']);
      expect((await warnings('ola')).map((w) => w.level)).toEqual([90]);
      await spend(probed(seen), 'ola', 2); // 92%: nothing new to say
      await spend(probed(seen), 'ola', 3); // 95%
      await spend(probed(seen), 'ola', 5); // 100%
      expect((await warnings('ola')).map((w) => w.level)).toEqual([90, 95, 100]);
      expect(await deliveryJobs('ola')).toEqual({ deliveries: 3, queued: 3 });
    });

    it('a unit that crosses all three at once records each once; one that rolls back records and queues nothing', async () => {
      const seen: string[] = [];
      await expect(spend(probed(seen), 'amy', 107, true)).rejects.toThrow('rolled back');
      expect(seen).toEqual([]); // work that throws is never flushed
      // Rolled back after the flush: the warnings were written in the transaction, and went with it.
      await expect(spend(probed(seen, true), 'amy', 107)).rejects.toThrow('rolled back after the flush');
      expect(seen).toEqual(['flushed amy: 3 inside, 0 committed']);
      expect(await warnings('amy')).toEqual([]);
      expect(await deliveryJobs('amy')).toEqual({ deliveries: 0, queued: 0 });
      expect(await account('amy')).toMatchObject({ balance: 107, usedThisPeriod: 0 });

      seen.length = 0;

      await spend(probed(seen), 'amy', 107);
      expect((await warnings('amy')).map((w) => w.level)).toEqual([90, 95, 100]);
      expect(await deliveryJobs('amy')).toEqual({ deliveries: 3, queued: 3 });
      await spend(ledger, 'amy', 0); // a flush that moves no mark
      expect((await warnings('amy')).map((w) => w.level)).toEqual([90, 95, 100]);
    });
  });
});
