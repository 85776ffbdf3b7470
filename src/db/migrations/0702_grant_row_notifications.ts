// PostgreSQL only: a write to `grants` notifies which grants it changed, not only the table, so
// that another instance's caches drop just those grants (read-cache.ts, `rows`). The token
// exchange rotates a refresh token every so often; with the table's statement trigger of 0300,
// each rotation emptied the grant regions of every process, and on PostgreSQL every read after it
// was a round trip again (the token exchange at 1.34× the peer's refresh grant instead of ≥ 2×).
//
// Still statement-level, with the changed rows as transition tables: one notification per
// statement, "schema.grants:id,id,…" for up to ROW_LIMIT grants and "schema.grants" (the whole
// table, as before) beyond, so a bulk change does not become a payload PostgreSQL refuses
// (8,000 bytes). A statement that changed no row (the loser of a rotation's compare-and-set)
// notifies nothing. TRUNCATE has no transition table and keeps 0300's trigger.
import { PostgresAdapter, sql, type Kysely } from 'kysely';

/** Grants named in one notification at most; more and it names the table. */
export const ROW_LIMIT = 64;

const isPostgres = (db: Kysely<unknown>): boolean => db.getExecutor().adapter instanceof PostgresAdapter;

export async function up(db: Kysely<unknown>): Promise<void> {
  if (!isPostgres(db)) return;
  await sql`
    create or replace function tessera_notify_rows() returns trigger language plpgsql as $$
    declare
      n bigint;
      ids text;
    begin
      -- Each event's trigger names the transition tables it has; only that branch reads them.
      if tg_op = 'INSERT' then
        select count(*), string_agg(id::text, ',') into n, ids from (select id from new_rows limit ${sql.lit(ROW_LIMIT + 1)}) r;
      elsif tg_op = 'UPDATE' then
        select count(*), string_agg(id::text, ',') into n, ids
          from (select id from old_rows union select id from new_rows limit ${sql.lit(ROW_LIMIT + 1)}) r;
      else
        select count(*), string_agg(id::text, ',') into n, ids from (select id from old_rows limit ${sql.lit(ROW_LIMIT + 1)}) r;
      end if;
      if n = 0 then
        return null;
      end if;
      perform pg_notify('tessera_changes', tg_table_schema || '.' || tg_table_name
        || case when n <= ${sql.lit(ROW_LIMIT)} then ':' || ids else '' end);
      return null;
    end $$`.execute(db);
  await sql`drop trigger grants_notify_change on grants`.execute(db);
  await sql`create trigger grants_notify_truncate after truncate on grants for each statement execute function tessera_notify_change()`.execute(db);
  await sql`create trigger grants_notify_insert after insert on grants referencing new table as new_rows
    for each statement execute function tessera_notify_rows()`.execute(db);
  await sql`create trigger grants_notify_update after update on grants referencing old table as old_rows new table as new_rows
    for each statement execute function tessera_notify_rows()`.execute(db);
  await sql`create trigger grants_notify_delete after delete on grants referencing old table as old_rows
    for each statement execute function tessera_notify_rows()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (!isPostgres(db)) return;
  for (const event of ['truncate', 'insert', 'update', 'delete']) await sql`drop trigger if exists ${sql.id(`grants_notify_${event}`)} on grants`.execute(db);
  await sql`drop function if exists tessera_notify_rows()`.execute(db);
  await sql`create trigger grants_notify_change after insert or update or delete or truncate on grants
    for each statement execute function tessera_notify_change()`.execute(db);
}
