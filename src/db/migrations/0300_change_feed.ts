// PostgreSQL only: statement triggers that NOTIFY `tessera_changes` with "schema.table" whenever
// one of the tables that in-process caches read is written (change-feed.ts, read-cache.ts). A
// NOTIFY is delivered when its transaction commits, so every instance drops its cached rows as
// soon as another instance's revocation, rotation or deletion is visible, rather than after a
// timeout. Statement-level: one notification per statement, not per row; PostgreSQL folds
// duplicates within a transaction. Cascaded deletes run as statements on the child tables and
// notify too. SQLite has PRAGMA data_version and the write counters of 0700 instead.
import { PostgresAdapter, sql, type Kysely } from 'kysely';

/** Tables read through caches. A cache region may only name tables listed here (tested). */
export const NOTIFYING_TABLES = [
  'users', 'phone_numbers', 'organizations', 'org_members', 'groups', 'group_members',
  'connectors', 'grants', 'webhooks', 'oauth_families', 'signing_keys',
] as const;

const isPostgres = (db: Kysely<unknown>): boolean => db.getExecutor().adapter instanceof PostgresAdapter;

export async function up(db: Kysely<unknown>): Promise<void> {
  if (!isPostgres(db)) return;
  await sql`
    create or replace function tessera_notify_change() returns trigger language plpgsql as $$
    begin
      perform pg_notify('tessera_changes', tg_table_schema || '.' || tg_table_name);
      return null;
    end $$`.execute(db);
  for (const table of NOTIFYING_TABLES) {
    await sql`create trigger ${sql.id(`${table}_notify_change`)}
      after insert or update or delete or truncate on ${sql.table(table)}
      for each statement execute function tessera_notify_change()`.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (!isPostgres(db)) return;
  for (const table of NOTIFYING_TABLES) await sql`drop trigger if exists ${sql.id(`${table}_notify_change`)} on ${sql.table(table)}`.execute(db);
  await sql`drop function if exists tessera_notify_change()`.execute(db);
}
