// White-label platforms (the Zaikio seed, docs/zaikio.md): a platform belongs to an organisation,
// answers under /{name}/ with its own look, and acts through one of the organisation's connectors
// (its app, the OAuth client). Persons and organisations become its members. Private access
// tokens let an organisation call the directory and Platform API without an OAuth client.
import type { Kysely } from 'kysely';

const ts = 'bigint' as const;

export async function up(db: Kysely<unknown>): Promise<void> {
  // The directory's organisations carry a country (POST /api/v1/person/organizations).
  await db.schema.alterTable('organizations').addColumn('country_code', 'text').execute();

  await db.schema.createTable('platforms')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    // The URL segment: lowercase, unique, none of Tessera's own first path segments.
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('display_name', 'text', (c) => c.notNull())
    // The platform app: one platform per app, so a token's client names its platform. A
    // connector that is a platform's app cannot be deleted (restrict).
    .addColumn('connector_id', 'text', (c) => c.notNull().unique().references('connectors.id').onDelete('restrict'))
    .addColumn('primary_color', 'text', (c) => c.notNull())
    .addColumn('support_contact', 'text')
    // Either an https URL, or an uploaded image kept here (base64, at most 256 KB decoded).
    .addColumn('logo_url', 'text')
    .addColumn('logo_type', 'text')
    .addColumn('logo_data', 'text')
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('updated_at', ts, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('platforms_org').on('platforms').column('org_id').execute();

  await db.schema.createTable('platform_members')
    .addColumn('platform_id', 'text', (c) => c.notNull().references('platforms.id').onDelete('cascade'))
    .addColumn('member_type', 'text', (c) => c.notNull())
    .addColumn('member_id', 'text', (c) => c.notNull())
    // How the member joined: signup (white-label registration), consent (an existing account or
    // organisation agreed), api (an organisation created for a member through the Platform API).
    .addColumn('joined_via', 'text', (c) => c.notNull())
    .addColumn('joined_by', 'text')
    .addColumn('created_at', ts, (c) => c.notNull())
    .addPrimaryKeyConstraint('platform_members_pk', ['platform_id', 'member_type', 'member_id'])
    .execute();
  await db.schema.createIndex('platform_members_member').on('platform_members').columns(['member_type', 'member_id']).execute();

  await db.schema.createTable('private_access_tokens')
    // The token's jti.
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('expires_at', ts, (c) => c.notNull())
    .addColumn('last_used_at', ts)
    .addColumn('revoked_at', ts)
    .execute();
  await db.schema.createIndex('private_access_tokens_org').on('private_access_tokens').column('org_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('private_access_tokens').execute();
  await db.schema.dropTable('platform_members').execute();
  await db.schema.dropTable('platforms').execute();
  await db.schema.alterTable('organizations').dropColumn('country_code').execute();
}
