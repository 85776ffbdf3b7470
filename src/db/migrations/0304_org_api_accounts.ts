// Every organisation has its API account (Kandy's account key) from the moment it is made
// (OrgsService.create provisions it in the same transaction). Before, the account was made when
// someone first opened the Projects page, so a page could write; this gives each organisation
// made before that its account, with a key of the same shape (AAK + 128 random bits in hex).
import { randomBytes, randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  const orgs = await sql<{ id: string }>`select o.id from organizations o where not exists (select 1 from api_accounts a where a.org_id = o.id)`.execute(db);
  const now = Date.now();
  for (const { id } of orgs.rows) {
    await sql`insert into api_accounts (id, org_id, plan_id, api_key, api_secret_hash, users_used, created_at)
      values (${randomUUID()}, ${id}, 'basic', ${`AAK${randomBytes(16).toString('hex')}`}, null, 0, ${now})`.execute(db);
  }
}

export async function down(): Promise<void> {
  // The accounts stay: nothing tells a backfilled account from one made on first use.
}
