// The rules of domains and user provisioning, independent of any wire format: the Kandy routes
// wrap results in {result, status, message}, the native API and the portal in their own shapes.
// Errors are ApiErrors from Tessera's catalogue; each surface has a serializer for them.
import type { Kysely } from 'kysely';
import type { Deps } from '../deps.js';
import { isForeignKeyViolation, isUniqueViolation } from '../deps.js';
import { can, type Actor } from '../auth/policy.js';
import { ApiError, invalid, notFound } from '../lib/errors.js';
import { hashPassword, safeEqual, sha256 } from '../lib/hash.js';
import { newId } from '../lib/ids.js';
import { FailureLimit, secretFailureRules } from '../lib/rate-limit.js';
import type { RecordAnswer } from '../idempotency/idempotency.js';
import type { Database, DomainTokenKind, DomainsTable } from '../db/schema.js';
import { byPerson, recordAudit, type AuditBy, type ClientInfo } from '../audit/audit-log.js';
import * as q from './queries.js';
import {
  checkGivenPassword, generatePassword, missing, newKey, newToken, normaliseCountryCode, normaliseDomainName,
  normaliseProjectName, normaliseUserEmail, normaliseUserId, optionalName,
} from './credentials.js';

/** Access tokens of all three kinds live a day, like Kaizala's; revocation stops them sooner. */
export const ACCESS_TOKEN_TTL_MS = 24 * 3600 * 1000;
export const DEFAULT_PLAN = 'basic';

export interface AccountContext { accountId: string; orgId: string }
export interface DomainContext extends AccountContext { domainId: string; domainName: string }

// The API key a call authenticated with, as the audit log records the actor.
const byAccountKey = (ctx: AccountContext, client: ClientInfo): AuditBy => ({ actor: { type: 'kandy_account', id: ctx.accountId }, client });
const byProjectKey = (ctx: DomainContext, client: ClientInfo): AuditBy => ({ actor: { type: 'kandy_project', id: ctx.domainId }, client });

export interface CreateUserInput {
  user_id?: string | undefined;
  user_country_code?: string | undefined;
  user_first_name?: string | undefined;
  user_last_name?: string | undefined;
  user_email?: string | undefined;
  user_password?: string | undefined;
}

export type CreatedUser = {
  user_id: string;
  user_password: string;
  full_user_id: string;
  domain_name: string;
  user_api_key: string;
  user_api_secret: string;
};

export interface IssuedToken { token: string; expiresAt: number }

export type CreatedDomain = { domain: DomainsTable; apiSecret: string };

const TOKEN_PREFIX = { account: 'AAT', domain: 'DAT', user: 'UAT' } as const;

const badCredentials = (field: string): ApiError => new ApiError('invalid_credentials', `${field}: the key and secret do not match`, { field });
/** What a token whose project or account is gone answers (deleting a project revokes its tokens). */
const revokedToken = (): ApiError => new ApiError('invalid_token', 'key: this access token has been revoked', { field: 'key' });

/**
 * Passwords Tessera generates carry ~95 random bits, so SHA-256 protects them as well as it protects
 * API secrets (see src/lib/hash.ts); people's own passwords get scrypt. The scheme is recorded in
 * the stored value. This also keeps a burst of creates from queueing on scrypt's 32 MiB hashes.
 */
async function storedPasswordHash(password: string, generated: boolean): Promise<string> {
  return generated ? `sha256$${sha256(password)}` : hashPassword(password);
}

/** Too many wrong secrets from one client: even the right one waits (rate-limit.ts, FailureLimit). */
const tooManyFailures = (wait: number): ApiError => new ApiError('rate_limited', 'Too many wrong secrets; try again later', undefined, wait);

/** An organisation's API account, made in the transaction that makes the organisation (OrgsService). */
export const provisionAccount = (trx: Kysely<Database>, orgId: string, now: number): Promise<void> =>
  q.insertAccountIfAbsent(trx, q.newAccountRow(orgId, DEFAULT_PLAN, now));

export class DomainsService {
  private readonly failures: FailureLimit;

  constructor(private readonly deps: Deps) {
    this.failures = new FailureLimit(deps.limiter);
  }

  /**
   * Checks a key and secret pair under the failure limits that guard every secret (per key and
   * client address, and per address; shared through Redis when configured): `verify` answers what
   * the pair unlocks, or undefined when it is wrong.
   */
  private async withSecretLimit<T>(apiKey: string, ip: string, verify: () => Promise<T | undefined>, wrong: () => ApiError): Promise<T> {
    const rules = secretFailureRules('kandy', apiKey, ip);
    const wait = await this.failures.blocked(rules);
    if (wait !== undefined) throw tooManyFailures(wait);
    const found = await verify();
    if (found !== undefined) return found;
    const blocked = await this.failures.fail(rules);
    if (blocked !== undefined) throw tooManyFailures(blocked);
    throw wrong();
  }

  // ---- the organisation's account (portal) ----

  /** Every organisation has one API account, made with it (provisionAccount) on the default plan. */
  async account(orgId: string): Promise<q.AccountWithPlan> {
    const row = await q.findAccountByOrg(this.deps.db, orgId);
    if (!row) throw notFound('Account');
    return row;
  }

  private requireMember(actor: Actor, orgId: string): void {
    // Not a member: the organisation does not exist as far as this person can tell.
    if (!can(actor, 'org.read', { orgId })) throw notFound('Organisation');
  }

  private requireManager(actor: Actor, orgId: string): void {
    this.requireMember(actor, orgId);
    if (!can(actor, 'org.manage_projects', { orgId })) throw new ApiError('forbidden', 'Only owners and admins of the organisation may manage projects');
  }

  async overview(actor: Actor, orgId: string): Promise<{ account: q.AccountWithPlan; domains: (DomainsTable & { users: number })[] }> {
    this.requireMember(actor, orgId);
    const account = await this.account(orgId);
    return { account, domains: await q.listDomains(this.deps.db, account.id) };
  }

  plans() {
    return q.listPlans(this.deps.db);
  }

  /** A new account secret (shown once); account access tokens issued before it stop working. */
  async rotateAccountSecret(actor: Actor, orgId: string): Promise<{ apiKey: string; apiSecret: string }> {
    this.requireManager(actor, orgId);
    const account = await this.account(orgId);
    const apiSecret = newKey('AAS');
    await this.deps.db.transaction().execute(async (trx) => {
      await q.setAccountSecret(trx, account.id, sha256(apiSecret));
      await q.revokeAccountTokens(trx, account.id, this.deps.clock.now());
      await this.audit(trx, byPerson(actor), orgId, 'account.secret_rotated', 'api_account', account.id);
    });
    return { apiKey: account.api_key, apiSecret };
  }

  async domainForActor(actor: Actor, domainId: string, manage = false): Promise<DomainsTable> {
    const domain = await q.findDomainById(this.deps.db, domainId);
    if (!domain || !can(actor, 'org.read', { orgId: domain.org_id })) throw notFound('Project');
    if (manage) this.requireManager(actor, domain.org_id);
    return domain;
  }

  async createDomainAsActor(actor: Actor, orgId: string, input: { domain_name?: string; project_name?: string }): Promise<{ domain: DomainsTable; apiSecret: string }> {
    this.requireManager(actor, orgId);
    const account = await this.account(orgId);
    return this.insertDomain({ accountId: account.id, orgId }, byPerson(actor), input);
  }

  async rotateDomainSecret(actor: Actor, domainId: string): Promise<{ domain: DomainsTable; apiSecret: string }> {
    const domain = await this.domainForActor(actor, domainId, true);
    const apiSecret = newKey('DAS');
    const now = this.deps.clock.now();
    await this.deps.db.transaction().execute(async (trx) => {
      await q.setDomainSecret(trx, domain.id, sha256(apiSecret), now);
      // Tokens obtained with the old secret go with it.
      await q.revokeDomainTokens(trx, domain.id, now);
      await this.audit(trx, byPerson(actor), domain.org_id, 'domain.secret_rotated', 'domain', domain.id, domain.domain_name);
    });
    return { domain, apiSecret };
  }

  async revokeTokensAsActor(actor: Actor, domainId: string): Promise<number> {
    const domain = await this.domainForActor(actor, domainId, true);
    return this.deps.db.transaction().execute(async (trx) => {
      const n = await q.revokeDomainTokens(trx, domain.id, this.deps.clock.now());
      await this.audit(trx, byPerson(actor), domain.org_id, 'domain.tokens_revoked', 'domain', domain.id, `${n} token${n === 1 ? '' : 's'} of ${domain.domain_name}`);
      return n;
    });
  }

  async deleteDomainAsActor(actor: Actor, domainId: string): Promise<void> {
    const domain = await this.domainForActor(actor, domainId, true);
    await this.removeDomain(domain, byPerson(actor));
  }

  async usersOfDomain(actor: Actor, domainId: string): Promise<{ domain: DomainsTable; users: q.DomainUser[] }> {
    const domain = await this.domainForActor(actor, domainId);
    return { domain, users: await q.listUsers(this.deps.db, domain.id) };
  }

  // ---- access tokens ----

  async accountToken(apiKey: string | undefined, apiSecret: string | undefined, ip: string): Promise<IssuedToken> {
    if (!apiKey) throw missing('key');
    if (!apiSecret) throw missing('account_api_secret');
    const account = await this.withSecretLimit(apiKey, ip, async () => {
      const row = await q.findAccountByKey(this.deps.db, apiKey);
      // An account whose secret was never generated answers like a wrong secret: keys are not
      // secret, so telling "this key exists" apart would only help someone guessing.
      return row?.api_secret_hash && safeEqual(sha256(apiSecret), row.api_secret_hash) ? row : undefined;
    }, () => badCredentials('account_api_secret'));
    return this.issue('account', account.id, null, null, () => badCredentials('account_api_secret'));
  }

  async domainToken(apiKey: string | undefined, apiSecret: string | undefined, ip: string): Promise<IssuedToken & { domain: DomainsTable }> {
    const domain = await this.domainByCredentials(apiKey, apiSecret, ip);
    return { ...(await this.issue('domain', domain.account_id, domain.id, null, () => badCredentials('domain_api_secret'))), domain };
  }

  /**
   * A user access token, two ways. With the project's key and secret and a user_id (Kandy's way:
   * the developer's server asks for one of its users). Or with the user's own API key and secret
   * (UAK…/UAS…, returned once when the user was created): the key names the user, so the user's
   * app gets its token without holding the project secret. Keys say what they are by their prefix.
   */
  async userToken(input: { key?: string | undefined; domain_api_secret?: string | undefined; user_id?: string | undefined; user_api_secret?: string | undefined }, ip: string): Promise<IssuedToken & { full_user_id: string }> {
    if (input.key?.startsWith('UAK')) {
      // Each credential pair is complete on its own; a mixed request is a client mistake worth naming.
      if (input.domain_api_secret !== undefined) throw invalid('domain_api_secret', 'is not accepted with a user API key; send user_api_secret');
      if (input.user_id !== undefined) throw invalid('user_id', 'is not accepted with a user API key (the key names the user)');
      return this.userTokenByUserKey(input.key, input.user_api_secret, ip, 'user_api_secret');
    }
    if (!input.user_id) throw missing('user_id');
    const domain = await this.domainByCredentials(input.key, input.domain_api_secret, ip);
    const user = await q.findUser(this.deps.db, domain.id, normaliseUserId(input.user_id));
    if (!user) throw notFound('User');
    return { ...(await this.issue('user', domain.account_id, domain.id, user.id, () => notFound('User'))), full_user_id: `${user.user_id}@${domain.domain_name}` };
  }

  /** A user access token from the user's API key and secret (`secretField` names the secret on the caller's wire). */
  async userTokenByUserKey(apiKey: string | undefined, apiSecret: string | undefined, ip: string, secretField = 'user_api_secret'): Promise<IssuedToken & { full_user_id: string }> {
    if (!apiKey) throw missing('key');
    if (!apiSecret) throw missing(secretField);
    const user = await this.withSecretLimit(apiKey, ip, async () => {
      const row = await q.findUserByKey(this.deps.db, apiKey);
      return row && safeEqual(sha256(apiSecret), row.api_secret_hash) ? row : undefined;
    }, () => badCredentials(secretField));
    return { ...(await this.issue('user', user.account_id, user.domain_id, user.id, () => badCredentials(secretField))), full_user_id: `${user.user_id}@${user.domain_name}` };
  }

  /** The native API's user token: the domain access token stands in for the domain's key and secret. */
  async userTokenForDomain(ctx: DomainContext, userIdInput: string): Promise<IssuedToken & { full_user_id: string }> {
    const user = await q.findUser(this.deps.db, ctx.domainId, normaliseUserId(userIdInput));
    if (!user) throw notFound('User');
    return { ...(await this.issue('user', ctx.accountId, ctx.domainId, user.id, () => notFound('User'))), full_user_id: `${user.user_id}@${ctx.domainName}` };
  }

  private async domainByCredentials(apiKey: string | undefined, apiSecret: string | undefined, ip: string): Promise<DomainsTable> {
    if (!apiKey) throw missing('key');
    if (!apiSecret) throw missing('domain_api_secret');
    return this.withSecretLimit(apiKey, ip, async () => {
      const domain = await q.findDomainByKey(this.deps.db, apiKey);
      return domain && safeEqual(sha256(apiSecret), domain.api_secret_hash) ? domain : undefined;
    }, () => badCredentials('domain_api_secret'));
  }

  /**
   * Stores a new token's hash. The account, project or user it refers to was read just before and
   * may have been deleted since: the foreign key then refuses the row, and `gone` says what the
   * same request would have been answered a moment later.
   */
  private async issue(kind: DomainTokenKind, accountId: string, domainId: string | null, domainUserId: string | null, gone: () => ApiError): Promise<IssuedToken> {
    const token = newToken(TOKEN_PREFIX[kind]);
    const now = this.deps.clock.now();
    const expiresAt = now + ACCESS_TOKEN_TTL_MS;
    try {
      await q.insertToken(this.deps.db, { token_hash: sha256(token), kind, account_id: accountId, domain_id: domainId, domain_user_id: domainUserId, created_at: now, expires_at: expiresAt });
    } catch (err) {
      if (isForeignKeyViolation(err)) throw gone();
      throw err;
    }
    return { token, expiresAt };
  }

  /** Resolves a token of the expected kind; unknown, revoked and expired tokens are told apart. */
  private async authenticate(kind: DomainTokenKind, token: string | undefined) {
    if (!token) throw new ApiError('unauthenticated', 'key: send the access token in the key query parameter or as Authorization: Bearer', { field: 'key', missing: true });
    const row = await q.findToken(this.deps.db, sha256(token));
    if (!row || row.kind !== kind) throw new ApiError('invalid_token', `key: is not a valid ${kind} access token`, { field: 'key' });
    if (row.revoked_at !== null) throw new ApiError('invalid_token', 'key: this access token has been revoked', { field: 'key' });
    if (row.expires_at <= this.deps.clock.now()) throw new ApiError('token_expired', 'key: this access token has expired; request a new one', { field: 'key' });
    return row;
  }

  async authenticateAccount(token: string | undefined): Promise<AccountContext> {
    const row = await this.authenticate('account', token);
    const account = await q.findAccountById(this.deps.db, row.account_id);
    if (!account) throw revokedToken();
    return { accountId: account.id, orgId: account.org_id };
  }

  async authenticateDomain(token: string | undefined): Promise<DomainContext> {
    const row = await this.authenticate('domain', token);
    const domain = row.domain_id ? await q.findDomainById(this.deps.db, row.domain_id) : undefined;
    if (!domain) throw revokedToken();
    return { accountId: domain.account_id, orgId: domain.org_id, domainId: domain.id, domainName: domain.domain_name };
  }

  // ---- domains (account access token or portal) ----

  async createDomain(ctx: AccountContext, client: ClientInfo, input: { domain_name?: string | undefined; project_name?: string | undefined }, record?: RecordAnswer<CreatedDomain>): Promise<CreatedDomain> {
    return this.insertDomain(ctx, byAccountKey(ctx, client), input, record);
  }

  private async insertDomain(ctx: AccountContext, by: AuditBy, input: { domain_name?: string | undefined; project_name?: string | undefined }, record?: RecordAnswer<CreatedDomain>): Promise<CreatedDomain> {
    if (input.domain_name === undefined) throw missing('domain_name');
    const domainName = normaliseDomainName(input.domain_name);
    const projectName = normaliseProjectName(input.project_name, domainName);
    const apiSecret = newKey('DAS');
    const now = this.deps.clock.now();
    const domain: DomainsTable = {
      id: newId(), account_id: ctx.accountId, org_id: ctx.orgId, domain_name: domainName, project_name: projectName,
      api_key: newKey('DAK'), api_secret_hash: sha256(apiSecret), created_at: now, updated_at: now,
    };
    try {
      await this.deps.db.transaction().execute(async (trx) => {
        await q.insertDomain(trx, domain);
        await this.audit(trx, by, ctx.orgId, 'domain.created', 'domain', domain.id, domainName);
        await record?.(trx, { domain, apiSecret });
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new ApiError('conflict', `domain_name: "${domainName}" is already taken`, { field: 'domain_name' });
      throw err;
    }
    return { domain, apiSecret };
  }

  async listDomains(ctx: AccountContext): Promise<(DomainsTable & { users: number })[]> {
    return q.listDomains(this.deps.db, ctx.accountId);
  }

  async deleteDomainByName(ctx: AccountContext, client: ClientInfo, domainNameInput: string | undefined): Promise<void> {
    if (!domainNameInput) throw missing('domain_name');
    const domain = await q.findDomainByName(this.deps.db, ctx.accountId, domainNameInput.trim().toLowerCase());
    // Another account's domain answers exactly like a missing one.
    if (!domain) throw notFound('Domain');
    await this.removeDomain(domain, byAccountKey(ctx, client));
  }

  async deleteDomainById(ctx: AccountContext, client: ClientInfo, domainId: string): Promise<void> {
    const domain = await q.findDomainById(this.deps.db, domainId);
    if (!domain || domain.account_id !== ctx.accountId) throw notFound('Domain');
    await this.removeDomain(domain, byAccountKey(ctx, client));
  }

  async rotateDomainSecretById(ctx: AccountContext, client: ClientInfo, domainId: string): Promise<{ domain: DomainsTable; apiSecret: string }> {
    const domain = await q.findDomainById(this.deps.db, domainId);
    if (!domain || domain.account_id !== ctx.accountId) throw notFound('Domain');
    const apiSecret = newKey('DAS');
    const now = this.deps.clock.now();
    await this.deps.db.transaction().execute(async (trx) => {
      await q.setDomainSecret(trx, domain.id, sha256(apiSecret), now);
      await q.revokeDomainTokens(trx, domain.id, now);
      await this.audit(trx, byAccountKey(ctx, client), domain.org_id, 'domain.secret_rotated', 'domain', domain.id, domain.domain_name);
    });
    return { domain, apiSecret };
  }

  private async removeDomain(domain: DomainsTable, by: AuditBy): Promise<void> {
    await this.deps.db.transaction().execute(async (trx) => {
      await q.deleteDomain(trx, domain);
      await this.audit(trx, by, domain.org_id, 'domain.deleted', 'domain', domain.id, domain.domain_name);
    });
  }

  // ---- users (domain access token) ----

  async createUser(ctx: DomainContext, client: ClientInfo, input: CreateUserInput, record?: RecordAnswer<CreatedUser>): Promise<CreatedUser> {
    // Validate everything before writing anything.
    if (input.user_id === undefined) throw missing('user_id');
    if (input.user_country_code === undefined) throw missing('user_country_code');
    const userId = normaliseUserId(input.user_id);
    const countryCode = normaliseCountryCode(input.user_country_code);
    const email = input.user_email === undefined || input.user_email.trim() === '' ? null : normaliseUserEmail(input.user_email);
    const firstName = optionalName(input.user_first_name, 'user_first_name');
    const lastName = optionalName(input.user_last_name, 'user_last_name');
    if (input.user_password !== undefined) checkGivenPassword(input.user_password);
    const generated = input.user_password === undefined;
    const password = input.user_password ?? generatePassword();

    // Cheap early answers (not authoritative: the conditional UPDATE and the unique constraint
    // are), so a flood of refused requests does not each pay for a password hash.
    const account = await q.findAccountById(this.deps.db, ctx.accountId);
    if (!account) throw revokedToken();
    if (account.users_used >= account.max_users) throw this.quotaError(account);
    if (await q.findUser(this.deps.db, ctx.domainId, userId)) throw this.duplicateUser(userId, ctx.domainName);

    const apiSecret = newKey('UAS');
    const row = {
      id: newId(), domain_id: ctx.domainId, account_id: ctx.accountId, user_id: userId, country_code: countryCode,
      first_name: firstName, last_name: lastName, email, password_hash: await storedPasswordHash(password, generated),
      api_key: newKey('UAK'), api_secret_hash: sha256(apiSecret), created_at: this.deps.clock.now(),
    };
    const created: CreatedUser = {
      user_id: userId, user_password: password, full_user_id: `${userId}@${ctx.domainName}`, domain_name: ctx.domainName,
      user_api_key: row.api_key, user_api_secret: apiSecret,
    };
    try {
      await this.deps.db.transaction().execute(async (trx) => {
        if (!(await q.takeUserSlot(trx, ctx.accountId))) {
          // Read again under the lock: the plan may have changed, or the account gone with its organisation.
          const now = await q.findAccountById(trx, ctx.accountId);
          throw now ? this.quotaError(now) : revokedToken();
        }
        // A unique or foreign-key violation here rolls the slot back with the rest of the
        // transaction. The latter means the project was deleted while this request ran (the
        // deletion held the account lock, so this create waited for its commit): the token died
        // with the project.
        await q.insertUser(trx, row);
        await this.audit(trx, byProjectKey(ctx, client), ctx.orgId, 'domain_user.created', 'domain_user', row.id, created.full_user_id);
        await record?.(trx, created);
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw this.duplicateUser(userId, ctx.domainName);
      if (isForeignKeyViolation(err)) throw revokedToken();
      throw err;
    }
    return created;
  }

  async listUsers(ctx: DomainContext): Promise<q.DomainUser[]> {
    return q.listUsers(this.deps.db, ctx.domainId);
  }

  async deleteUser(ctx: DomainContext, client: ClientInfo, userIdInput: string | undefined): Promise<void> {
    if (!userIdInput) throw missing('user_id');
    const userId = normaliseUserId(userIdInput);
    const deleted = await this.deps.db.transaction().execute(async (trx) => {
      // The account lock first, as every writer of domain_users takes it (queries.ts, "Lock order").
      await q.lockAccount(trx, ctx.accountId);
      const gone = await q.deleteUser(trx, ctx.domainId, userId);
      if (gone) {
        await q.releaseUserSlots(trx, ctx.accountId, 1);
        await this.audit(trx, byProjectKey(ctx, client), ctx.orgId, 'domain_user.deleted', 'domain_user', gone, `${userId}@${ctx.domainName}`);
      }
      return gone;
    });
    if (!deleted) throw notFound('User');
  }

  async usage(accountId: string): Promise<{ plan: string; used: number; limit: number }> {
    const account = await q.findAccountById(this.deps.db, accountId);
    if (!account) throw notFound('Account');
    return { plan: account.plan_name, used: account.users_used, limit: account.max_users };
  }

  private quotaError(account: q.AccountWithPlan): ApiError {
    // An operator may have lowered the plan below the account's usage (users are never deleted
    // for that): say how many are in use then, since "all" would understate it.
    const inUse = account.users_used > account.max_users ? `${account.users_used} are in use` : 'all are in use';
    return new ApiError('quota_exceeded',
      `user quota reached: the ${account.plan_name} plan allows ${account.max_users} user${account.max_users === 1 ? '' : 's'} per account and ${inUse}; delete a user or move to a larger plan`,
      { plan: account.plan_id, max_users: account.max_users });
  }

  private duplicateUser(userId: string, domainName: string): ApiError {
    return new ApiError('conflict', `user_id: "${userId}" already exists in ${domainName}`, { field: 'user_id' });
  }

  private audit(trx: Kysely<Database>, by: AuditBy, orgId: string, action: string, targetType: string, targetId: string, summary?: string): Promise<void> {
    return recordAudit(trx, { ...by, orgId, action, target: { type: targetType, id: targetId }, ...(summary ? { summary } : {}), at: this.deps.clock.now() });
  }

}
