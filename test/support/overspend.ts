import { expect } from 'vitest';
import type { TokenEngine } from '@token-engine/client';
import { waitFor } from './engine.js';

/**
 * The concurrency story, against whatever engines the clients reach (one client per API process): 300
 * simultaneous 3-token uses of one Monthly Pro account's 100 tokens apply exactly 33 and leave 1.
 */
export async function threeHundredUsesOfAHundredTokens(clients: TokenEngine[], userId = 'hot'): Promise<void> {
  const client = (i: number) => clients[i % clients.length]!;
  expect(await client(0).createAccount(userId, { plan: 'monthly_pro' })).toMatchObject({ balance: 100 });
  const answers = await Promise.all(
    Array.from({ length: 300 }, (_, i) => client(i).recordUsage({ userId, feature: 'resume_upload', idempotencyKey: `${userId}-use-${i}` })),
  );
  expect(answers.filter((a) => a.status !== 'queued')).toEqual([]);
  const statuses = await waitFor(async () => {
    const all = await Promise.all(Array.from({ length: 300 }, (_, i) => client(i).usageStatus(`${userId}-use-${i}`)));
    return all.every((s) => s.status !== 'queued') ? all : undefined;
  }, 'all 300 uses to settle', 30_000);
  expect(statuses.filter((s) => s.status === 'applied')).toHaveLength(33);
  expect(statuses.filter((s) => s.status === 'rejected' && s.reason === 'insufficient_tokens')).toHaveLength(267);
  expect(await client(1).account(userId)).toMatchObject({ balance: 1, held: 0, usedThisPeriod: 99 });
  const ledger = await client(0).ledger(userId, { limit: 500 });
  expect(ledger.entries.filter((e) => e.kind === 'use')).toHaveLength(33);
}
