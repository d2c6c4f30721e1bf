import { sql } from 'kysely';
import { z } from 'zod';
import type { Db, Executor } from '../db/database.js';
import type { Plan } from '../db/schema.js';
import { EngineError } from '../errors.js';
import { audit } from '../audit/audit.js';
import { runLedger, type Ledger } from '../ledger/run-ledger.js';
import { listPlans } from '../catalog/plans.js';
import { isoTimestamp } from '../validation.js';

export const campaignIdSchema = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'campaign id must be 1-64 characters of A-Za-z0-9_.-');

export const campaignSchema = z
  .strictObject({
    name: z.string().min(1, 'name is required').max(200),
    startsAt: isoTimestamp,
    endsAt: isoTimestamp,
    plans: z.array(z.string().min(1)).min(1).optional(),
    bonus: z
      .strictObject({
        tokens: z.number().int('tokens must be a whole number').min(1).max(1_000_000).optional(),
        percentOfAllocation: z.number().int('percentOfAllocation must be a whole number').min(1).max(1000).optional(),
      })
      .refine((b) => b.tokens !== undefined || b.percentOfAllocation !== undefined, 'bonus names tokens and/or percentOfAllocation'),
    expiresAt: isoTimestamp.optional(),
  })
  .refine((c) => Date.parse(c.endsAt) > Date.parse(c.startsAt), { message: 'endsAt must be after startsAt', path: ['endsAt'] })
  .refine((c) => !c.expiresAt || Date.parse(c.expiresAt) > Date.parse(c.startsAt), { message: 'expiresAt must be after startsAt', path: ['expiresAt'] });
export type CampaignInput = z.infer<typeof campaignSchema>;

export interface CampaignView extends CampaignInput {
  id: string;
}

function view(r: { id: string; name: string; starts_at: Date; ends_at: Date; plans: string[] | null; bonus_tokens: number | null; bonus_percent: number | null; expires_at: Date | null }): CampaignView {
  return {
    id: r.id,
    name: r.name,
    startsAt: r.starts_at.toISOString(),
    endsAt: r.ends_at.toISOString(),
    ...(r.plans ? { plans: r.plans } : {}),
    bonus: { ...(r.bonus_tokens ? { tokens: r.bonus_tokens } : {}), ...(r.bonus_percent ? { percentOfAllocation: r.bonus_percent } : {}) },
    ...(r.expires_at ? { expiresAt: r.expires_at.toISOString() } : {}),
  };
}

export async function listCampaigns(exec: Executor): Promise<CampaignView[]> {
  return (await exec.selectFrom('campaigns').selectAll().orderBy('starts_at').execute()).map(view);
}

export async function putCampaign(db: Db, id: string, c: CampaignInput, actor: string, now: Date): Promise<CampaignView> {
  return db.transaction().execute(async (trx) => {
    const known = new Set((await listPlans(trx)).map((p) => p.id));
    const unknown = (c.plans ?? []).filter((p) => !known.has(p));
    if (unknown.length > 0) throw new EngineError('unknown_plan', `unknown plan: ${unknown.join(', ')}`, { plans: unknown });
    const before = await trx.selectFrom('campaigns').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
    const row = {
      id,
      name: c.name,
      starts_at: c.startsAt,
      ends_at: c.endsAt,
      plans: c.plans ?? null,
      bonus_tokens: c.bonus.tokens ?? null,
      bonus_percent: c.bonus.percentOfAllocation ?? null,
      expires_at: c.expiresAt ?? null,
      updated_at: now,
    };
    await trx.insertInto('campaigns').values(row).onConflict((oc) => oc.column('id').doUpdateSet(row)).execute();
    await audit(trx, { actor, action: before ? 'campaign.update' : 'campaign.create', subject: `campaign:${id}`, before: before ? view(before) : null, after: c, at: now });
    return { id, ...c };
  });
}

function bonusFor(c: { bonus_tokens: number | null; bonus_percent: number | null }, plan: Plan): number {
  return (c.bonus_tokens ?? 0) + Math.floor((plan.monthly_tokens * (c.bonus_percent ?? 0)) / 100);
}

/**
 * The `campaigns` job: every account on an eligible plan, open at `asOf` inside a campaign's window,
 * receives the campaign's bonus once (the grant's key names campaign and account). Accounts that join
 * or move onto an eligible plan during the window get it at the next run; a rerun grants nothing twice.
 * The bonus expires when the campaign says, else at the end of the account's period.
 */
export async function runCampaigns(ledger: Ledger, asOf: Date, chunk = 500): Promise<Record<string, number>> {
  const { db } = ledger;
  const active = await db.selectFrom('campaigns').selectAll().where('starts_at', '<=', asOf).where('ends_at', '>', asOf).execute();
  const plans = new Map((await listPlans(db)).map((p) => [p.id, p]));
  const granted: Record<string, number> = {};
  for (const c of active) {
    granted[c.id] = 0;
    let after = '';
    for (;;) {
      const due = await db
        .selectFrom('accounts')
        .select('user_id')
        .where('user_id', '>', after)
        .where('created_at', '<=', asOf)
        .$if(c.plans !== null, (q) => q.where('plan_id', 'in', c.plans!))
        .where(({ not, exists, selectFrom }) =>
          not(exists(selectFrom('grants').select('id').where('idempotency_key', '=', sql<string>`'campaign:' || ${c.id} || ':' || accounts.user_id`))),
        )
        .orderBy('user_id')
        .limit(chunk)
        .execute();
      if (due.length === 0) break;
      after = due.at(-1)!.user_id;
      granted[c.id]! += await runLedger(ledger, asOf, due.map((d) => d.user_id), async (books, { trx }) => {
        let n = 0;
        for (const book of books.values()) {
          const plan = plans.get(book.account.plan_id);
          if (!plan || (c.plans && !c.plans.includes(plan.id))) continue;
          const tokens = bonusFor(c, plan);
          if (tokens <= 0) continue;
          const id = await book.grant(trx, {
            source: 'bonus',
            sourceRef: `campaign:${c.id}`,
            tokens,
            expiresAt: c.expires_at ?? book.account.period_end,
            idempotencyKey: `campaign:${c.id}:${book.userId}`,
            occurredAt: asOf,
            metadata: { campaign: c.id, name: c.name },
          });
          if (id !== null) n++;
        }
        return n;
      });
      if (due.length < chunk) break;
    }
  }
  return granted;
}
