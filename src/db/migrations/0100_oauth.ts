// OAuth 2.0 / OpenID Connect: what connectors need to be OAuth clients (redirect URIs, client
// type, allowed grant types), and the authorization server's own state. Every code and refresh
// token is stored as its SHA-256 only; access tokens are self-contained JWTs, so only the ids of
// revoked ones are kept (until they would have expired anyway).
import type { Kysely } from 'kysely';

const ts = 'bigint' as const;

export async function up(db: Kysely<unknown>): Promise<void> {
  // Existing connectors become confidential clients with no redirect URI: they can use client
  // credentials at once, and the code flow once an admin registers a redirect URI.
  await db.schema.alterTable('connectors').addColumn('redirect_uris', 'text', (c) => c.notNull().defaultTo('[]')).execute();
  await db.schema.alterTable('connectors').addColumn('client_type', 'text', (c) => c.notNull().defaultTo('confidential')).execute();
  await db.schema.alterTable('connectors')
    .addColumn('grant_types', 'text', (c) => c.notNull().defaultTo('["authorization_code","refresh_token","client_credentials"]')).execute();

  // A grant family: everything issued from one authorization (one code redemption or one client
  // credentials request). Revoking the family revokes every refresh and access token in it.
  await db.schema.createTable('oauth_families')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('connector_id', 'text', (c) => c.notNull().references('connectors.id').onDelete('cascade'))
    .addColumn('user_id', 'text', (c) => c.references('users.id').onDelete('cascade'))
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('auth_time', ts)
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('revoked_at', ts)
    .addColumn('revoked_reason', 'text')
    .execute();
  await db.schema.createIndex('oauth_families_user_connector').on('oauth_families').columns(['user_id', 'connector_id']).execute();

  await db.schema.createTable('oauth_codes')
    .addColumn('code_hash', 'text', (c) => c.primaryKey())
    .addColumn('connector_id', 'text', (c) => c.notNull().references('connectors.id').onDelete('cascade'))
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('redirect_uri', 'text', (c) => c.notNull())
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('code_challenge', 'text')
    .addColumn('nonce', 'text')
    .addColumn('auth_time', ts, (c) => c.notNull())
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('expires_at', ts, (c) => c.notNull())
    .addColumn('redeemed_at', ts)
    .addColumn('family_id', 'text')
    .execute();

  await db.schema.createTable('oauth_refresh_tokens')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('family_id', 'text', (c) => c.notNull().references('oauth_families.id').onDelete('cascade'))
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('expires_at', ts, (c) => c.notNull())
    .addColumn('spent_at', ts)
    .execute();
  await db.schema.createIndex('oauth_refresh_tokens_family').on('oauth_refresh_tokens').column('family_id').execute();

  await db.schema.createTable('oauth_revoked_access_tokens')
    .addColumn('jti', 'text', (c) => c.primaryKey())
    .addColumn('expires_at', ts, (c) => c.notNull())
    .execute();

  // Remembered consent, per person and connector (withdrawn on the portal's /consents page).
  await db.schema.createTable('oauth_consents')
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('connector_id', 'text', (c) => c.notNull().references('connectors.id').onDelete('cascade'))
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('updated_at', ts, (c) => c.notNull())
    .addPrimaryKeyConstraint('oauth_consents_pk', ['user_id', 'connector_id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['oauth_consents', 'oauth_revoked_access_tokens', 'oauth_refresh_tokens', 'oauth_codes', 'oauth_families']) {
    await db.schema.dropTable(t).execute();
  }
  for (const c of ['grant_types', 'client_type', 'redirect_uris']) await db.schema.alterTable('connectors').dropColumn(c).execute();
}
