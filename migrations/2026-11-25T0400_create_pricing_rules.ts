import { sql, type Kysely } from 'kysely';

// Pricing rules are versioned like prices: a use is priced by the rules as they were defined when it
// occurred. Demand levels are a history too, computed on a schedule. pricing_state.version moves with
// every change, so a process can tell in the same query whether its cached rules are stale.
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table pricing_rules (
      id text not null,
      version integer not null,
      definition jsonb not null,
      defined_from timestamptz not null,
      defined_until timestamptz,
      changed_by text not null,
      primary key (id, version)
    );
    create unique index pricing_rules_current on pricing_rules (id) where defined_until is null;
    create table demand_levels (
      rule_id text not null,
      computed_at timestamptz not null,
      multiplier numeric(10, 4) not null check (multiplier >= 1),
      uses_per_minute numeric(14, 4) not null,
      primary key (rule_id, computed_at)
    );
    create table pricing_state (
      id integer primary key check (id = 1),
      version bigint not null
    );
    insert into pricing_state (id, version) values (1, 0);
    alter table ledger_entries add column pricing jsonb;
    alter table holds add column pricing jsonb;
  `.execute(db);
}
