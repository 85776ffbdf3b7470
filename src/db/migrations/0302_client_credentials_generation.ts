// Client-credentials tokens are judged by their client (they have no grant family). Removing the
// client_credentials grant type moves this generation, and tokens carry the generation they were
// issued under: adding the grant type back does not bring the earlier tokens back to life.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('connectors').addColumn('cc_generation', 'integer', (c) => c.notNull().defaultTo(1)).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('connectors').dropColumn('cc_generation').execute();
}
