// The refresh grant at production size (issue 17; docs/performance.md, "Production sizes"). Every
// refresh reads a family and appends a link to its chain; with a million families those are rows
// on pages no cache holds, so what each refresh touches beyond that is paid in page reads and
// writes. Two changes:
//
// - The chain's foreign key to its family goes, and a trigger on the family carries its cascade.
//   Checking the key on every appended link cost PostgreSQL a lock on the family row (FOR KEY
//   SHARE), which writes the row's header: every refresh dirtied its family's page and logged it,
//   a full 8 kB page image the first time after each checkpoint, and at that size a different page
//   each time (WAL per appended link, measured on a million families: 11.2 kB with the check,
//   4.8 kB without). Nothing is lost by it: a link is appended only by the grant that has just read
//   its family, and a family deleted in between leaves a link no lookup can use (the lookup joins
//   the family) and that the pruner removes (db/retention.ts). The write watch learns cascades
//   from foreign keys only, so it does not see the trigger's deletes; no cache reads the links.
// - SQLite: oauth_families is WITHOUT ROWID, as the chain already is, so a family by its id is one
//   B-tree descent instead of two (its key's index, then the table).
import { PostgresAdapter, sql, type Kysely } from 'kysely';
import { countWrites } from './0700_sqlite_change_versions.js';

const isPostgres = (db: Kysely<unknown>): boolean => db.getExecutor().adapter instanceof PostgresAdapter;

export async function up(db: Kysely<unknown>): Promise<void> {
  if (isPostgres(db)) {
    await sql`alter table oauth_refresh_chain drop constraint oauth_refresh_chain_family_id_fkey`.execute(db);
    await createLinksCascade(db, true);
    return;
  }
  // SQLite alters a key or a table's kind only by building the table anew; one transaction, so a
  // failure leaves the old tables as they were.
  await db.transaction().execute(async (trx) => {
    await rebuildChain(trx, false);
    await rebuildFamilies(trx, true);
    await createLinksCascade(trx, false);
  });
}

/** The trigger by which a deleted family takes its chain's links (also 0800's down). */
export async function createLinksCascade(db: Kysely<unknown>, postgres: boolean): Promise<void> {
  if (!postgres) {
    await sql`create trigger oauth_families_links_cascade after delete on oauth_families for each row
      begin delete from oauth_refresh_chain where family_id = old.id; end`.execute(db);
    return;
  }
  // Statement-level, with the deleted rows as a table: deleting a connector removes its families
  // (and their links) in one statement each, not one per family.
  await sql`
    create or replace function tessera_family_links_cascade() returns trigger language plpgsql as $$
    begin
      execute format('delete from %I.oauth_refresh_chain c using gone where c.family_id = gone.id', tg_table_schema);
      return null;
    end $$`.execute(db);
  await sql`create trigger oauth_families_links_cascade after delete on oauth_families
    referencing old table as gone for each statement execute function tessera_family_links_cascade()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  if (isPostgres(db)) {
    await sql`drop trigger oauth_families_links_cascade on oauth_families`.execute(db);
    await sql`drop function tessera_family_links_cascade()`.execute(db);
    await sql`delete from oauth_refresh_chain c where not exists (select 1 from oauth_families f where f.id = c.family_id)`.execute(db);
    await sql`alter table oauth_refresh_chain add constraint oauth_refresh_chain_family_id_fkey
      foreign key (family_id) references oauth_families (id) on delete cascade`.execute(db);
    return;
  }
  await db.transaction().execute(async (trx) => {
    await sql`drop trigger oauth_families_links_cascade`.execute(trx);
    await rebuildFamilies(trx, false);
    await sql`delete from oauth_refresh_chain where family_id not in (select id from oauth_families)`.execute(trx);
    await rebuildChain(trx, true);
  });
}

/** SQLite: oauth_refresh_chain built anew, with or without its foreign key to the family. */
async function rebuildChain(db: Kysely<unknown>, foreignKey: boolean): Promise<void> {
  await db.schema.createTable('oauth_refresh_chain_next')
    .addColumn('family_id', 'text', (c) => (foreignKey ? c.notNull().references('oauth_families.id').onDelete('cascade') : c.notNull()))
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('oauth_refresh_chain_pk', ['family_id', 'seq'])
    .modifyEnd(sql`without rowid`)
    .execute();
  await sql`insert into oauth_refresh_chain_next select family_id, seq, token_hash, created_at, expires_at from oauth_refresh_chain order by family_id, seq`.execute(db);
  await db.schema.dropTable('oauth_refresh_chain').execute();
  await sql`alter table oauth_refresh_chain_next rename to oauth_refresh_chain`.execute(db);
}

/** SQLite: oauth_families built anew, WITHOUT ROWID or not, with its index and write counters. */
async function rebuildFamilies(db: Kysely<unknown>, withoutRowid: boolean): Promise<void> {
  await db.schema.createTable('oauth_families_next')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('connector_id', 'text', (c) => c.notNull().references('connectors.id').onDelete('cascade'))
    .addColumn('user_id', 'text', (c) => c.references('users.id').onDelete('cascade'))
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('auth_time', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('revoked_at', 'bigint')
    .addColumn('revoked_reason', 'text')
    .$call((b) => (withoutRowid ? b.modifyEnd(sql`without rowid`) : b))
    .execute();
  await sql`insert into oauth_families_next select id, connector_id, user_id, scope, auth_time, created_at, revoked_at, revoked_reason
    from oauth_families order by id`.execute(db);
  await db.schema.dropTable('oauth_families').execute();
  await sql`alter table oauth_families_next rename to oauth_families`.execute(db);
  await db.schema.createIndex('oauth_families_user_connector').on('oauth_families').columns(['user_id', 'connector_id']).execute();
  await countWrites(db, 'oauth_families');
}
