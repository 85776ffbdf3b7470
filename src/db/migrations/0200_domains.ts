// Domains and user provisioning (the Kandy seed): plans with user quotas, one API account per
// organisation, projects (domains) with their keys, provisioned users and opaque access tokens.
// Why a counter column (api_accounts.users_used) instead of COUNT(*): the quota must hold under
// concurrency on both databases and across processes. A conditional
// `UPDATE … SET users_used = users_used + 1 WHERE users_used < quota` takes the row lock on
// PostgreSQL (and the write lock on SQLite) and re-checks the condition, so no two creates can
// both take the last slot; the insert happens in the same transaction.
import type { Kysely } from 'kysely';

const ts = 'bigint' as const;

export async function up(db: Kysely<unknown>): Promise<void> {
  // Plans are data, not code: an operator changes quotas or adds plans with SQL, no release needed.
  await db.schema.createTable('plans')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('max_users', 'integer', (c) => c.notNull())
    .addColumn('created_at', ts, (c) => c.notNull())
    .execute();
  const now = Date.now();
  // Basic: five users per account, from the seed. The others are Tessera's own.
  await (db as Kysely<{ plans: { id: string; name: string; max_users: number; created_at: number } }>)
    .insertInto('plans').values([
      { id: 'basic', name: 'Basic', max_users: 5, created_at: now },
      { id: 'team', name: 'Team', max_users: 100, created_at: now },
      { id: 'enterprise', name: 'Enterprise', max_users: 100000, created_at: now },
    ]).execute();

  await db.schema.createTable('api_accounts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().unique().references('organizations.id').onDelete('cascade'))
    .addColumn('plan_id', 'text', (c) => c.notNull().references('plans.id'))
    .addColumn('api_key', 'text', (c) => c.notNull().unique())
    // Null until someone generates the secret in the portal (it is shown once).
    .addColumn('api_secret_hash', 'text')
    .addColumn('users_used', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', ts, (c) => c.notNull())
    .execute();

  await db.schema.createTable('domains')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull().references('api_accounts.id').onDelete('cascade'))
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('domain_name', 'text', (c) => c.notNull().unique())
    .addColumn('project_name', 'text', (c) => c.notNull())
    .addColumn('api_key', 'text', (c) => c.notNull().unique())
    .addColumn('api_secret_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('updated_at', ts, (c) => c.notNull())
    .execute();
  await db.schema.createIndex('domains_account').on('domains').column('account_id').execute();

  await db.schema.createTable('domain_users')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('domain_id', 'text', (c) => c.notNull().references('domains.id').onDelete('cascade'))
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('country_code', 'text', (c) => c.notNull())
    .addColumn('first_name', 'text')
    .addColumn('last_name', 'text')
    .addColumn('email', 'text')
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('api_key', 'text', (c) => c.notNull().unique())
    .addColumn('api_secret_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', ts, (c) => c.notNull())
    // A user_id names one user within its domain (full_user_id = user_id@domain_name).
    .addUniqueConstraint('domain_users_domain_user', ['domain_id', 'user_id'])
    .execute();

  // Opaque access tokens, stored as SHA-256 only. Deleting the domain or user deletes its tokens
  // (cascade), which is what "deleting a project revokes its tokens" means here.
  await db.schema.createTable('domain_tokens')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('account_id', 'text', (c) => c.notNull().references('api_accounts.id').onDelete('cascade'))
    .addColumn('domain_id', 'text', (c) => c.references('domains.id').onDelete('cascade'))
    .addColumn('domain_user_id', 'text', (c) => c.references('domain_users.id').onDelete('cascade'))
    .addColumn('created_at', ts, (c) => c.notNull())
    .addColumn('expires_at', ts, (c) => c.notNull())
    .addColumn('revoked_at', ts)
    .execute();
  await db.schema.createIndex('domain_tokens_domain').on('domain_tokens').column('domain_id').execute();
  await db.schema.createIndex('domain_tokens_account').on('domain_tokens').column('account_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['domain_tokens', 'domain_users', 'domains', 'api_accounts', 'plans']) {
    await db.schema.dropTable(t).ifExists().execute();
  }
}
