import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table plans (
      id text primary key,
      name text not null,
      monthly_tokens integer not null check (monthly_tokens >= 0),
      price_cents integer not null check (price_cents >= 0),
      currency text not null default 'usd',
      billing_interval text not null check (billing_interval in ('month', 'year')),
      rollover_max integer not null default 0 check (rollover_max >= 0),
      rank integer not null,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create table features (
      key text primary key,
      name text not null,
      enabled boolean not null default true,
      created_at timestamptz not null default now()
    );
    create table feature_prices (
      id bigserial primary key,
      feature_key text not null references features (key),
      cost integer not null check (cost >= 0),
      effective_from timestamptz not null,
      changed_by text not null,
      created_at timestamptz not null default now(),
      unique (feature_key, effective_from)
    );
  `.execute(db);
}
