import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table audit_log (
      id bigserial primary key,
      actor text not null,
      action text not null,
      subject text not null,
      before jsonb,
      after jsonb,
      at timestamptz not null
    );
    create index audit_log_at on audit_log (at desc);
  `.execute(db);
}
