import { randomUUID } from 'node:crypto';
import { EngineError } from '../errors.js';
import { audit } from '../audit/audit.js';
import { runLedger, type Ledger } from './run-ledger.js';
import type { AccountGate } from './account-gate.js';
import { releaseDueHolds } from './hold-expiry.js';

export interface ManualGrant {
  userId: string;
  tokens: number;
  reason: string;
  expiresAt?: Date | undefined;
  /** Lets an operator retry a grant safely; a fresh key is made when none is given. */
  idempotencyKey?: string | undefined;
}

/** An admin's grant (bonus or adjustment): a ledger entry and an audit record in one transaction. */
export async function grantManually(ledger: Ledger, g: ManualGrant, actor: string, now: Date, gate: AccountGate) {
  if (g.expiresAt && g.expiresAt.getTime() <= now.getTime()) {
    throw new EngineError('validation_failed', 'expiresAt must be in the future', { expiresAt: g.expiresAt.toISOString() });
  }
  return gate.run(g.userId, () => runLedger(ledger, now, [g.userId], async (books, { trx }) => {
    const book = books.get(g.userId);
    if (!book) throw new EngineError('account_not_found', `no account for userId "${g.userId}"`, { userId: g.userId });
    // Tokens past their expiry are not spendable, and those of holds past theirs are: the balance answered
    // must say so (the sweep may not have run).
    await releaseDueHolds(trx, [book], now);
    book.expireDue(now);
    const key = `admin:${g.idempotencyKey ?? randomUUID()}`;
    const grantId = await book.grant(trx, {
      source: 'adjustment',
      sourceRef: actor,
      tokens: g.tokens,
      expiresAt: g.expiresAt ?? null,
      idempotencyKey: key,
      occurredAt: now,
      metadata: { reason: g.reason },
    });
    if (grantId !== null) {
      await audit(trx, {
        actor,
        action: 'grant.create',
        subject: `account:${g.userId}`,
        before: null,
        after: { grantId, tokens: g.tokens, reason: g.reason, expiresAt: g.expiresAt?.toISOString() ?? null },
        at: now,
      });
    }
    return { grantId, duplicate: grantId === null, balance: book.balance };
  }));
}
