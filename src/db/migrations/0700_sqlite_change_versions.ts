// SQLite only: which cached tables another process changed, not just that it changed something.
// `PRAGMA data_version` says that another connection committed; on its own it empties every
// cache, so a worker's refresh-token write (a table no cache reads) emptied its siblings' clients,
// grants and member lists. Row triggers on the cached tables count their writes in
// change_versions; when data_version moves, the feed reads those counters (a dozen rows) and
// empties only the regions over tables whose count moved (change-feed.ts). The counter is
// written in the writer's transaction, so it commits, or rolls back, with the change it counts.
// PostgreSQL has its statement triggers and NOTIFY (0300) instead.
import { SqliteAdapter, sql, type Kysely } from 'kysely';
import { NOTIFYING_TABLES } from './0300_change_feed.js';

const isSqlite = (db: Kysely<unknown>): boolean => db.getExecutor().adapter instanceof SqliteAdapter;
const EVENTS = ['insert', 'update', 'delete'] as const;

export async function up(db: Kysely<unknown>): Promise<void> {
  if (!isSqlite(db)) return;
  await sql`create table change_versions (table_name text primary key, version integer not null default 0) without rowid`.execute(db);
  for (const table of NOTIFYING_TABLES) {
    await sql`insert into change_versions (table_name) values (${table})`.execute(db);
    await countWrites(db, table);
  }
}

/** The row triggers that count a cached table's writes; a migration that rebuilds the table makes them again. */
export async function countWrites(db: Kysely<unknown>, table: (typeof NOTIFYING_TABLES)[number]): Promise<void> {
  for (const event of EVENTS) {
    await sql`create trigger ${sql.id(`${table}_${event}_counted`)} after ${sql.raw(event)} on ${sql.table(table)} for each row
      begin update change_versions set version = version + 1 where table_name = ${sql.lit(table)}; end`.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (!isSqlite(db)) return;
  for (const table of NOTIFYING_TABLES) {
    for (const event of EVENTS) await sql`drop trigger if exists ${sql.id(`${table}_${event}_counted`)}`.execute(db);
  }
  await sql`drop table if exists change_versions`.execute(db);
}
