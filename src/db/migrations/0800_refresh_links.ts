// Refresh tokens keyed by a time-ordered id (issue 17; docs/performance.md, "Production sizes").
// The chain of 0301 keyed each link by (family, position): every refresh appended its link beside
// its family's others, and with a million families that is a different page of a big B-tree each
// time, one PostgreSQL logs whole after each checkpoint and SQLite copies back at each of its own
// (the refresh grant 15–18% slower at production size). Here a link is keyed by its own UUIDv7, so
// appends go to the end of the key, and single use is a unique key on the link it spends, whose
// entries land where links made within the last hour or so sit. Nothing indexes a family's links:
// nothing on a request's path asks for them.
//
// - A family's links no longer go with it (0701's trigger would now scan every link): a link
//   whose family is gone is refused like one never issued (the lookup joins the family) and is
//   pruned when it expires.
// - So the pruner finds a dead family by its links: when the last link of a chain has been
//   expired for the grace week, the family goes with it (db/retention.ts). A family issued
//   without a refresh token has no link and ends with its access tokens: `expires_at`.
// - Live chains are carried over, each link under the id `<family>/<position>`, which is what a
//   token of the old format names (oauth/refresh-token-format.ts), each link spending the one
//   before it. Its clients notice nothing.
//
// Down drops every refresh token (their clients sign in again) rather than rebuild chains from
// links that may no longer form one.
import { PostgresAdapter, sql, type Kysely } from 'kysely';
import { createLinksCascade } from './0701_refresh_family_unlocked.js';

/** An access token's life when this was written (oauth/tokens.ts): a migration does not follow later changes. */
const ACCESS_TOKEN_TTL_MS = 3_600_000;

const isPostgres = (db: Kysely<unknown>): boolean => db.getExecutor().adapter instanceof PostgresAdapter;

export async function up(db: Kysely<unknown>): Promise<void> {
  // SQLite runs DDL outside the migrator's transaction: one of its own, so a failure leaves the
  // old tables as they were. PostgreSQL's migration already is one.
  if (isPostgres(db)) await migrate(db, true);
  else await db.transaction().execute((trx) => migrate(trx, false));
}

async function migrate(db: Kysely<unknown>, postgres: boolean): Promise<void> {
  // Ids compare byte by byte on PostgreSQL as on SQLite: the pruner reads them as time.
  const id = postgres ? sql`text collate "C"` : 'text';
  await db.schema.createTable('oauth_refresh_links')
    .addColumn('id', id, (c) => c.primaryKey())
    .addColumn('family_id', 'text', (c) => c.notNull())
    .addColumn('spends', id)
    .addColumn('token_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .$call((b) => (postgres ? b : b.modifyEnd(sql`without rowid`)))
    .execute();
  await sql`insert into oauth_refresh_links (id, family_id, spends, token_hash, created_at, expires_at)
    select family_id || '/' || seq, family_id, case when seq > 1 then family_id || '/' || (seq - 1) end, token_hash, created_at, expires_at
    from oauth_refresh_chain`.execute(db);
  await db.schema.createIndex('oauth_refresh_links_spends').on('oauth_refresh_links').column('spends').unique()
    .where(sql.ref('spends'), 'is not', null).execute();

  await db.schema.alterTable('oauth_families').addColumn('expires_at', 'bigint').execute();
  await sql`update oauth_families set expires_at = created_at + ${sql.lit(ACCESS_TOKEN_TTL_MS)}
    where not exists (select 1 from oauth_refresh_chain c where c.family_id = oauth_families.id)`.execute(db);
  await db.schema.createIndex('oauth_families_expiry').on('oauth_families').column('expires_at')
    .where(sql.ref('expires_at'), 'is not', null).execute();

  await dropChain(db, postgres);
}

async function dropChain(db: Kysely<unknown>, postgres: boolean): Promise<void> {
  if (postgres) {
    await sql`drop trigger oauth_families_links_cascade on oauth_families`.execute(db);
    await sql`drop function tessera_family_links_cascade()`.execute(db);
  } else {
    await sql`drop trigger oauth_families_links_cascade`.execute(db);
  }
  await db.schema.dropTable('oauth_refresh_chain').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  const postgres = isPostgres(db);
  const run = async (trx: Kysely<unknown>): Promise<void> => {
    await trx.schema.dropTable('oauth_refresh_links').execute();
    await trx.schema.dropIndex('oauth_families_expiry').execute();
    await trx.schema.alterTable('oauth_families').dropColumn('expires_at').execute();
    // 0701's chain, empty, with its cascade.
    await trx.schema.createTable('oauth_refresh_chain')
      .addColumn('family_id', 'text', (c) => c.notNull())
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('token_hash', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('oauth_refresh_chain_pk', ['family_id', 'seq'])
      .$call((b) => (postgres ? b : b.modifyEnd(sql`without rowid`)))
      .execute();
    await createLinksCascade(trx, postgres);
  };
  if (postgres) await run(db);
  else await db.transaction().execute(run);
}
