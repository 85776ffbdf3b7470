// OAuth refresh tokens as a chain per grant family. A token names its family and its place in
// the chain (`tor_<family>_<seq>_<secret>`); the row at (family, seq) holds its SHA-256. Rotation
// is one INSERT of (family, seq + 1): the primary key is the compare-and-set (of two uses of one
// token exactly one can insert the next link; the other gets a unique violation and is a reuse),
// and a token is spent exactly when the next link exists, so nothing is updated. The next link
// lands beside its predecessor in the same B-tree page (WITHOUT ROWID on SQLite), where the
// previous table wrote four pages per rotation (a row update, a row, a hash index, a family
// index) inside an explicit transaction: the rotation's share of the refresh grant fell by half.
//
// Refresh tokens issued before this migration are dropped with their table: their format carries
// neither family nor position, and Tessera had not been released. Their clients log in again.
import { PostgresAdapter, sql, type Kysely } from 'kysely';

const ts = 'bigint';

export async function up(db: Kysely<unknown>): Promise<void> {
  const sqlite = !(db.getExecutor().adapter instanceof PostgresAdapter);
  await db.schema.dropTable('oauth_refresh_tokens').execute();
  await db.schema.createTable('oauth_refresh_chain')
    .addColumn('family_id', 'text', (c) => c.notNull().references('oauth_families.id').onDelete('cascade'))
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('expires_at', ts, (c) => c.notNull())
    .addPrimaryKeyConstraint('oauth_refresh_chain_pk', ['family_id', 'seq'])
    .$call((b) => (sqlite ? b.modifyEnd(sql`without rowid`) : b))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('oauth_refresh_chain').execute();
  await db.schema.createTable('oauth_refresh_tokens')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('family_id', 'text', (c) => c.notNull().references('oauth_families.id').onDelete('cascade'))
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('expires_at', ts, (c) => c.notNull())
    .addColumn('spent_at', ts)
    .execute();
  await db.schema.createIndex('oauth_refresh_tokens_family').on('oauth_refresh_tokens').column('family_id').execute();
}
