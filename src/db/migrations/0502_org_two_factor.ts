// "Requires two-factor authentication" per organisation (issue 14): owners switch it on; from
// then on a member without 2FA cannot act for the organisation (auth/second-factor.ts).
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('organizations').addColumn('require_two_factor', 'integer', (c) => c.notNull().defaultTo(sql`0`)).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('organizations').dropColumn('require_two_factor').execute();
}
