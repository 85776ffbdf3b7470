// Queries of the domains module. Each takes a Kysely executor, so it runs inside or outside a
// transaction; every query that reads tenant data takes the account or domain it is scoped to.
import type { Kysely, Transaction } from 'kysely';
import type { ApiAccountsTable, Database, DomainTokenKind, DomainUsersTable, DomainsTable, PlansTable } from '../db/schema.js';
import { newId } from '../lib/ids.js';
import { newKey } from './credentials.js';

export type Exec = Kysely<Database> | Transaction<Database>;

export type AccountWithPlan = ApiAccountsTable & { plan_name: string; max_users: number };

export function findAccountByOrg(db: Exec, orgId: string): Promise<AccountWithPlan | undefined> {
  return db.selectFrom('api_accounts').innerJoin('plans', 'plans.id', 'api_accounts.plan_id')
    .selectAll('api_accounts').select(['plans.name as plan_name', 'plans.max_users'])
    .where('api_accounts.org_id', '=', orgId).executeTakeFirst();
}

export function findAccountById(db: Exec, id: string): Promise<AccountWithPlan | undefined> {
  return db.selectFrom('api_accounts').innerJoin('plans', 'plans.id', 'api_accounts.plan_id')
    .selectAll('api_accounts').select(['plans.name as plan_name', 'plans.max_users'])
    .where('api_accounts.id', '=', id).executeTakeFirst();
}

export function findAccountByKey(db: Exec, apiKey: string): Promise<ApiAccountsTable | undefined> {
  return db.selectFrom('api_accounts').selectAll().where('api_key', '=', apiKey).executeTakeFirst();
}

/** Creates the organisation's account unless another request or process just did. */
export async function insertAccountIfAbsent(db: Exec, row: ApiAccountsTable): Promise<void> {
  await db.insertInto('api_accounts').values(row).onConflict((oc) => oc.column('org_id').doNothing()).execute();
}

export async function setAccountSecret(db: Exec, accountId: string, secretHash: string): Promise<void> {
  await db.updateTable('api_accounts').set({ api_secret_hash: secretHash }).where('id', '=', accountId).execute();
}

/** The row of a new account: on the given plan, no users, no secret until someone generates one. */
export const newAccountRow = (orgId: string, planId: string, now: number): ApiAccountsTable => ({
  id: newId(), org_id: orgId, plan_id: planId, api_key: newKey('AAK'), api_secret_hash: null, users_used: 0, created_at: now,
});

export async function setAccountPlan(db: Exec, accountId: string, planId: string): Promise<void> {
  await db.updateTable('api_accounts').set({ plan_id: planId }).where('id', '=', accountId).execute();
}

// Lock order. Every transaction that inserts or deletes domain_users rows first writes the
// account's api_accounts row: creating a user (takeUserSlot), deleting one (lockAccount) and
// deleting a project (lockAccount). On PostgreSQL the row lock makes them wait for each other, and
// under READ COMMITTED each later statement sees what the one before it committed; SQLite holds
// the database write lock from the first write to the commit. So users_used moves in step with the
// rows, and a create that waited for a project's deletion finds the project gone (a foreign-key
// violation the service answers as a revoked token) instead of adding a user the cascade would
// remove without giving its slot back.

/**
 * Takes one user slot if the plan has one left. The WHERE re-checks the counter under the row
 * lock (PostgreSQL re-evaluates it after a concurrent update commits; SQLite holds the database
 * write lock), so the quota is exact whatever the concurrency. Answers whether a slot was taken.
 */
export async function takeUserSlot(db: Exec, accountId: string): Promise<boolean> {
  const res = await db.updateTable('api_accounts')
    .set((eb) => ({ users_used: eb('users_used', '+', 1) }))
    .where('id', '=', accountId)
    .where((eb) => eb('users_used', '<', eb.selectFrom('plans').select('plans.max_users').whereRef('plans.id', '=', 'api_accounts.plan_id')))
    .executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

/**
 * Takes the account row's lock for the rest of the transaction (see "Lock order" above). A no-op
 * UPDATE rather than SELECT … FOR UPDATE because SQLite has no FOR UPDATE, and a write as the first
 * statement makes SQLite take the write lock at once (waiting busy_timeout for another process)
 * instead of failing to upgrade a read lock later. Answers whether the account exists.
 */
export async function lockAccount(db: Exec, accountId: string): Promise<boolean> {
  const res = await db.updateTable('api_accounts').set((eb) => ({ users_used: eb.ref('users_used') })).where('id', '=', accountId).executeTakeFirst();
  return Number(res.numUpdatedRows) === 1;
}

export async function releaseUserSlots(db: Exec, accountId: string, count: number): Promise<void> {
  if (count <= 0) return;
  await db.updateTable('api_accounts').set((eb) => ({ users_used: eb('users_used', '-', count) })).where('id', '=', accountId).execute();
}

// ---- plans ----

export function listPlans(db: Exec): Promise<PlansTable[]> {
  return db.selectFrom('plans').selectAll().orderBy('max_users').execute();
}

export function findPlan(db: Exec, id: string): Promise<PlansTable | undefined> {
  return db.selectFrom('plans').selectAll().where('id', '=', id).executeTakeFirst();
}

export interface PlanUsage extends PlansTable { accounts: number; accounts_over: number }

/** Each plan with how many accounts are on it, and how many of those have more users than it allows. */
export async function listPlanUsage(db: Exec): Promise<PlanUsage[]> {
  const rows = await db.selectFrom('plans').leftJoin('api_accounts', 'api_accounts.plan_id', 'plans.id')
    .select(['plans.id', 'plans.name', 'plans.max_users', 'plans.created_at'])
    .select((eb) => [
      eb.fn.count('api_accounts.id').as('accounts'),
      eb.fn.count('api_accounts.id').filterWhere('api_accounts.users_used', '>', eb.ref('plans.max_users')).as('accounts_over'),
    ])
    .groupBy(['plans.id', 'plans.name', 'plans.max_users', 'plans.created_at'])
    .orderBy('plans.max_users').orderBy('plans.id').execute();
  return rows.map((r) => ({ ...r, accounts: Number(r.accounts), accounts_over: Number(r.accounts_over) }));
}

export async function insertPlan(db: Exec, row: PlansTable): Promise<void> {
  await db.insertInto('plans').values(row).execute();
}

export async function updatePlan(db: Exec, id: string, changes: { name?: string; max_users?: number }): Promise<void> {
  await db.updateTable('plans').set(changes).where('id', '=', id).execute();
}

// ---- domains ----

export function listDomains(db: Exec, accountId: string): Promise<(DomainsTable & { users: number })[]> {
  return db.selectFrom('domains')
    .selectAll('domains')
    .select((eb) => eb.selectFrom('domain_users').select((e) => e.fn.countAll<number>().as('n')).whereRef('domain_users.domain_id', '=', 'domains.id').as('users'))
    .where('account_id', '=', accountId).orderBy('created_at').orderBy('id').execute()
    .then((rows) => rows.map((r) => ({ ...r, users: Number(r.users ?? 0) })));
}

export function findDomainById(db: Exec, id: string): Promise<DomainsTable | undefined> {
  return db.selectFrom('domains').selectAll().where('id', '=', id).executeTakeFirst();
}

export function findDomainByKey(db: Exec, apiKey: string): Promise<DomainsTable | undefined> {
  return db.selectFrom('domains').selectAll().where('api_key', '=', apiKey).executeTakeFirst();
}

export function findDomainByName(db: Exec, accountId: string, domainName: string): Promise<DomainsTable | undefined> {
  return db.selectFrom('domains').selectAll().where('account_id', '=', accountId).where('domain_name', '=', domainName).executeTakeFirst();
}

export async function insertDomain(db: Exec, row: DomainsTable): Promise<void> {
  await db.insertInto('domains').values(row).execute();
}

export async function setDomainSecret(db: Exec, domainId: string, secretHash: string, now: number): Promise<void> {
  await db.updateTable('domains').set({ api_secret_hash: secretHash, updated_at: now }).where('id', '=', domainId).execute();
}

/**
 * Deletes a domain with its users and tokens; gives the users' slots back. The account lock comes
 * first, so no create can add a user to the domain between the count and the delete. The domain
 * row goes first and ON DELETE CASCADE takes the users and tokens: PostgreSQL checks a new token's
 * references in the order they were declared (domain before user), so a token being issued for
 * one of the users waits on the domain row alone and cannot deadlock with this delete.
 */
export async function deleteDomain(db: Exec, domain: DomainsTable): Promise<void> {
  await lockAccount(db, domain.account_id);
  const users = await db.selectFrom('domain_users').select((eb) => eb.fn.countAll<number>().as('n')).where('domain_id', '=', domain.id).executeTakeFirstOrThrow();
  await db.deleteFrom('domains').where('id', '=', domain.id).execute();
  await releaseUserSlots(db, domain.account_id, Number(users.n));
}

// ---- users ----

export type DomainUser = Omit<DomainUsersTable, 'password_hash' | 'api_secret_hash'>;
const USER_COLUMNS = ['id', 'domain_id', 'account_id', 'user_id', 'country_code', 'first_name', 'last_name', 'email', 'api_key', 'created_at'] as const;

export function listUsers(db: Exec, domainId: string): Promise<DomainUser[]> {
  return db.selectFrom('domain_users').select(USER_COLUMNS).where('domain_id', '=', domainId).orderBy('created_at').orderBy('user_id').execute();
}

export function findUser(db: Exec, domainId: string, userId: string): Promise<DomainUser | undefined> {
  return db.selectFrom('domain_users').select(USER_COLUMNS).where('domain_id', '=', domainId).where('user_id', '=', userId).executeTakeFirst();
}

/** A user by its API key, with what a token for it needs; includes the secret's hash to compare. */
export function findUserByKey(db: Exec, apiKey: string) {
  return db.selectFrom('domain_users').innerJoin('domains', 'domains.id', 'domain_users.domain_id')
    .select(['domain_users.id', 'domain_users.user_id', 'domain_users.account_id', 'domain_users.domain_id', 'domain_users.api_secret_hash', 'domains.domain_name'])
    .where('domain_users.api_key', '=', apiKey).executeTakeFirst();
}

export async function insertUser(db: Exec, row: DomainUsersTable): Promise<void> {
  await db.insertInto('domain_users').values(row).execute();
}

/** Answers whether a user was deleted; the caller gives the slot back in the same transaction. */
/** Deletes a domain's user; answers the deleted row's id, or undefined when there was none. */
export async function deleteUser(db: Exec, domainId: string, userId: string): Promise<string | undefined> {
  const row = await db.deleteFrom('domain_users').where('domain_id', '=', domainId).where('user_id', '=', userId).returning('id').executeTakeFirst();
  return row?.id;
}

// ---- tokens ----

export async function insertToken(db: Exec, row: { token_hash: string; kind: DomainTokenKind; account_id: string; domain_id: string | null; domain_user_id: string | null; created_at: number; expires_at: number }): Promise<void> {
  await db.insertInto('domain_tokens').values({ ...row, revoked_at: null }).execute();
}

export function findToken(db: Exec, tokenHash: string) {
  return db.selectFrom('domain_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
}

/** Revokes every live domain (and user) token of a domain; answers how many. */
export async function revokeDomainTokens(db: Exec, domainId: string, now: number): Promise<number> {
  const res = await db.updateTable('domain_tokens').set({ revoked_at: now }).where('domain_id', '=', domainId).where('revoked_at', 'is', null).executeTakeFirst();
  return Number(res.numUpdatedRows);
}

export async function revokeAccountTokens(db: Exec, accountId: string, now: number): Promise<void> {
  await db.updateTable('domain_tokens').set({ revoked_at: now }).where('account_id', '=', accountId).where('kind', '=', 'account').where('revoked_at', 'is', null).execute();
}
