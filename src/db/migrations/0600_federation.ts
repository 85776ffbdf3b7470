// Federated sign-in (issue 15): a person's identities at the configured upstream providers, the
// sign-ins under way (their state, spent once), whether a session's log-in passed a second
// factor, and the audit log's client details.
import { sql, type Kysely } from 'kysely';

const ts = 'bigint' as const;

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createTable('user_identities')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    // The provider's id from LOGIN_PROVIDERS and its stable subject: `sub`, or for Entra ID
    // `<tid>/<oid>` (the same person has another `sub` in every application).
    .addColumn('provider_id', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('tenant_id', 'text')
    // What the provider said at the last sign-in, for the person's own list; never a key.
    .addColumn('email', 'text')
    .addColumn('mfa', 'integer', (c) => c.notNull().defaultTo(sql`0`))
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('last_login_at', ts)
    .addUniqueConstraint('user_identities_subject', ['provider_id', 'subject'])
    .execute();
  await db.schema.createIndex('user_identities_user').on('user_identities').column('user_id').execute();

  await db.schema.createTable('federated_logins')
    // SHA-256 of the `state` sent to the provider; the PKCE verifier and nonce are derived from it.
    .addColumn('state_hash', 'text', (c) => c.primaryKey())
    .addColumn('provider_id', 'text', (c) => c.notNull())
    // SHA-256 of the browser's session or anonymous cookie: the callback must come back to it.
    .addColumn('binding_hash', 'text', (c) => c.notNull())
    // Set when a signed-in person links another identity.
    .addColumn('link_user_id', 'text', (c) => c.references('users.id').onDelete('cascade'))
    .addColumn('next', 'text', (c) => c.notNull())
    .addColumn('platform', 'text')
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('expires_at', ts, (c) => c.notNull())
    .addColumn('used_at', ts)
    .execute();

  await db.schema.alterTable('sessions').addColumn('second_factor', 'integer', (c) => c.notNull().defaultTo(sql`0`)).execute();
  await db.schema.alterTable('audit_events').addColumn('ip', 'text').execute();
  await db.schema.alterTable('audit_events').addColumn('user_agent', 'text').execute();
  await db.schema.alterTable('audit_events').addColumn('summary', 'text').execute();
  await db.schema.createIndex('audit_events_actor').on('audit_events').columns(['actor_id', 'created_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('audit_events_actor').execute();
  for (const column of ['summary', 'user_agent', 'ip']) await db.schema.alterTable('audit_events').dropColumn(column).execute();
  await db.schema.alterTable('sessions').dropColumn('second_factor').execute();
  await db.schema.dropTable('federated_logins').execute();
  await db.schema.dropTable('user_identities').execute();
}
