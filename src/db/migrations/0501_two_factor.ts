// TOTP two-factor authentication (issue 14): one authenticator per person, its secret sealed
// under MASTER_KEY like the other secrets, the last time step used (a code works once), and ten
// single-use recovery codes kept as SHA-256.
import type { Kysely } from 'kysely';

const ts = 'bigint' as const;

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createTable('two_factor')
    .addColumn('user_id', 'text', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
    .addColumn('secret_sealed', 'text', (c) => c.notNull())
    // Null while enrolment waits for its first code.
    .addColumn('enabled_at', ts)
    .addColumn('last_step', ts)
    .addColumn('created_at', ts, (c) => c.notNull())
    .execute();
  await db.schema.createTable('recovery_codes')
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('code_hash', 'text', (c) => c.notNull())
    .addColumn('used_at', ts)
    .addPrimaryKeyConstraint('recovery_codes_pk', ['user_id', 'code_hash'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('recovery_codes').execute();
  await db.schema.dropTable('two_factor').execute();
}
