import { sql, type Kysely } from 'kysely';

// anchored_to: the Stripe subscription whose billing dates the account's periods follow (its current
// subscription once its first period is paid). grace_until: the current period was allocated on a paid
// plan before it was paid; unpaid at that instant, it falls back to the free plan.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table subscriptions add column anchored_to text;
    alter table subscriptions add column grace_until timestamptz;
    create index subscriptions_grace on subscriptions (grace_until) where grace_until is not null;
  `.execute(db);
}
