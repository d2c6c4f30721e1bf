import { describe, expect, it } from 'vitest';
import { ApplyLanes } from '../../src/usage/apply-lanes.js';
import type { QueuedUsageEvent } from '../../src/usage/usage-event.js';
import type { UsageOutcome } from '../../src/usage/apply-usage.js';

const event = (key: string, userId = 'u1'): QueuedUsageEvent =>
  ({ idempotencyKey: key, userId, feature: 'resume_upload', occurredAt: '2026-11-25T00:00:00.000Z', payloadHash: key }) as QueuedUsageEvent;

class DataError extends Error {}

/**
 * A stand-in ledger: applies each distinct key once, refuses the data of keys starting with "poison"
 * and fails whole while `down`, and slows down.
 */
function ledger() {
  const transactions: string[][] = [];
  const state = { down: false };
  const transact = async (events: QueuedUsageEvent[]): Promise<UsageOutcome[]> => {
    transactions.push(events.map((e) => e.idempotencyKey));
    await new Promise((r) => setTimeout(r, 20));
    if (state.down) throw new Error('database unavailable');
    if (events.some((e) => e.idempotencyKey.startsWith('poison'))) throw new DataError('poisoned transaction');
    const seen = new Map<string, UsageOutcome>();
    for (const e of events) if (!seen.has(e.idempotencyKey)) seen.set(e.idempotencyKey, { idempotencyKey: e.idempotencyKey, userId: e.userId, status: 'applied', cost: 3 });
    return [...seen.values()];
  };
  return { transactions, transact, state };
}

const options = {
  isDataError: (error: unknown) => error instanceof DataError,
  reject: async (e: QueuedUsageEvent): Promise<UsageOutcome> => ({ idempotencyKey: e.idempotencyKey, userId: e.userId, status: 'rejected', reason: 'invalid_event', cost: 0 }),
};

describe('ApplyLanes: group commit of usage jobs', () => {
  it('starts a lone job at once and merges the jobs that wait behind it, in arrival order', async () => {
    const { transactions, transact } = ledger();
    const lanes = new ApplyLanes(transact, { ...options, lanes: 2, maxEvents: 500 });
    const jobs = ['a', 'b', 'c', 'd'].map((k) => lanes.apply(0, [event(k)]));
    const other = lanes.apply(1, [event('x')]);
    const outcomes = await Promise.all([...jobs, other]);
    expect(outcomes.map((o) => o.map((x) => `${x.idempotencyKey}:${x.status}`))).toEqual([['a:applied'], ['b:applied'], ['c:applied'], ['d:applied'], ['x:applied']]);
    expect(transactions).toEqual([['a'], ['x'], ['b', 'c', 'd']]);
  });

  it('keeps a merged transaction within maxEvents', async () => {
    const { transactions, transact } = ledger();
    const lanes = new ApplyLanes(transact, { ...options, lanes: 1, maxEvents: 3 });
    await Promise.all([[event('a')], [event('b'), event('c')], [event('d')], [event('e'), event('f'), event('g'), event('h')]].map((e) => lanes.apply(0, e)));
    expect(transactions).toEqual([['a'], ['b', 'c', 'd'], ['e', 'f', 'g', 'h']]);
  });

  it('settles a poisoned event alone when its data is refused: every other event, of its job too, is applied', async () => {
    const { transactions, transact } = ledger();
    const lanes = new ApplyLanes(transact, { ...options, lanes: 1, maxEvents: 500 });
    const first = lanes.apply(0, [event('first')]);
    const results = await Promise.all([lanes.apply(0, [event('b')]), lanes.apply(0, [event('a1'), event('poison'), event('a2')]), lanes.apply(0, [event('c')])]);
    await first;
    expect(results.map((r) => r.map((o) => `${o.idempotencyKey}:${o.status}`))).toEqual([['b:applied'], ['a1:applied', 'poison:rejected', 'a2:applied'], ['c:applied']]);
    // Halves until the poisoned event stands alone, in the order the events were sent.
    expect(transactions).toEqual([['first'], ['b', 'a1', 'poison', 'a2', 'c'], ['b', 'a1', 'poison'], ['b', 'a1'], ['poison'], ['a2', 'c']]);
  });

  it('fails every job of a group, unsplit, when the failure is not about the data (the database is down)', async () => {
    const { transactions, transact, state } = ledger();
    const lanes = new ApplyLanes(transact, { ...options, lanes: 1, maxEvents: 500 });
    const first = lanes.apply(0, [event('first')]).catch(() => 'failed');
    state.down = true;
    const results = await Promise.allSettled([lanes.apply(0, [event('b')]), lanes.apply(0, [event('c'), event('d')])]);
    expect(await first).toBe('failed');
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(transactions).toEqual([['first'], ['b', 'c', 'd']]);
  });

  it('answers a key carried by two merged jobs once: the later job gets it as a duplicate', async () => {
    const { transact } = ledger();
    const lanes = new ApplyLanes(transact, { ...options, lanes: 1, maxEvents: 500 });
    const first = lanes.apply(0, [event('first')]);
    const [one, two] = await Promise.all([lanes.apply(0, [event('k'), event('k')]), lanes.apply(0, [event('k'), event('m')])]);
    await first;
    expect(one.map((o) => o.status)).toEqual(['applied']);
    expect(two.map((o) => `${o.idempotencyKey}:${o.status}`)).toEqual(['k:duplicate', 'm:applied']);
  });
});
