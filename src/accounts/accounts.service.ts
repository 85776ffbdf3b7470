// People: sign-up, password log-in with brute-force limits, and cookie sessions.
import type { Deps } from '../deps.js';
import { isUniqueViolation } from '../deps.js';
import { ApiError, FieldChecks, invalid, requiredText } from '../lib/errors.js';
import { dummyPasswordHash, hashPassword, sha256, verifyPassword } from '../lib/hash.js';
import { newId, newSecret } from '../lib/ids.js';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Actor } from '../auth/policy.js';
import type { Kysely } from 'kysely';
import type { Database, UsersTable } from '../db/schema.js';
import { memberRoles } from '../auth/second-factor.js';
import { weakness } from './password-strength.js';
import { recordAudit, type ClientInfo } from '../audit/audit-log.js';

export const SESSION_TTL_MS = 14 * 24 * 3600 * 1000;
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
export const PASSWORD_MIN = 10;
export const PASSWORD_MAX = 256;
export const NAME_MAX = 100;
export const EMAIL_MAX = 254;

export type User = Omit<UsersTable, 'password_hash'>;

// Log-in limits (docs/architecture.md, "Log-in limits"). A guesser is stopped per account and
// client address, and per address across accounts; what an account suffers from all addresses
// together only slows every attempt on it, so nobody can lock the owner out from elsewhere.
const LOGIN_WINDOW_MS = 15 * 60_000;
/** Wrong passwords for one account from one address before that address must wait. */
export const LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS = 10;
/** Attempts from one address across accounts (each costs a slow scrypt), right or wrong. */
export const LOGIN_ATTEMPTS_PER_ADDRESS = 100;
/** Wrong passwords for one account from anywhere before its attempts are slowed. */
export const LOGIN_SLOWDOWN_AFTER = 10;
const LOGIN_DELAY_MAX_MS = 10_000;

/**
 * The wait before checking a password for an account that has `failures` wrong passwords in the
 * window: none below the threshold, then 250 ms doubling every 5 failures, at most 10 s. Taken
 * before the answer is known, so a guesser cannot skip it by giving up on slow answers.
 */
export function loginDelayMs(failures: number): number {
  if (failures < LOGIN_SLOWDOWN_AFTER) return 0;
  return Math.min(LOGIN_DELAY_MAX_MS, 250 * 2 ** Math.floor((failures - LOGIN_SLOWDOWN_AFTER) / 5));
}

const tooManyLogins = (wait: number): ApiError => new ApiError('rate_limited', 'Too many log-in attempts; try again later', undefined, wait);

export function normaliseEmail(raw: string): string {
  const email = raw.trim().toLowerCase();
  if (!EMAIL_RE.test(email) || email.length > EMAIL_MAX) throw invalid('email', 'must be an email address');
  return email;
}

export function checkPassword(password: string, field = 'password'): void {
  if (password.length < PASSWORD_MIN) throw invalid(field, `must be at least ${PASSWORD_MIN} characters`);
  if (password.length > PASSWORD_MAX) throw invalid(field, `must be at most ${PASSWORD_MAX} characters`);
}

/** Every password a person chooses: long enough, and not easy to guess (password-strength.ts). */
export async function checkNewPassword(password: string, personal: string[], field = 'password'): Promise<void> {
  checkPassword(password, field);
  const weak = await weakness(password, personal);
  if (weak) throw invalid(field, weak);
}

export class AccountsService {
  constructor(private readonly deps: Deps) {}

  /** `also` writes what comes with the account (a platform membership, a consent) in its transaction. */
  async signup(input: { email: string; name: string; password: string }, also?: (trx: Kysely<Database>, user: User) => Promise<void>): Promise<User> {
    // Every field is checked, so a form shows all its mistakes at once.
    const checks = new FieldChecks();
    const name = checks.check(() => requiredText(input.name, 'name', NAME_MAX)) ?? '';
    const email = checks.check(() => normaliseEmail(input.email)) ?? '';
    checks.check(() => checkPassword(input.password));
    checks.done();
    await checkNewPassword(input.password, [name, email]);
    const user: User = { id: newId(), email, name, created_at: this.deps.clock.now(), email_verified_at: null };
    try {
      const passwordHash = await hashPassword(input.password);
      await this.deps.db.transaction().execute(async (trx) => {
        await trx.insertInto('users').values({ ...user, password_hash: passwordHash }).execute();
        if (also) await also(trx, user);
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new ApiError('email_taken', 'email: an account with this email already exists', { field: 'email' });
      throw err;
    }
    return user;
  }

  /**
   * An account made at a first sign-in through an identity provider (federation/): no password
   * (the stored hash is empty and matches nothing) until the person sets one through a reset
   * link; the address counts as confirmed only if the provider vouched for it.
   */
  async signupWithoutPassword(input: { email: string; name: string; emailVerified: boolean }, also: (trx: Kysely<Database>, user: User) => Promise<void>): Promise<User> {
    const now = this.deps.clock.now();
    const user: User = { id: newId(), email: normaliseEmail(input.email), name: input.name.trim().slice(0, NAME_MAX) || input.email.split('@')[0]!.slice(0, NAME_MAX), created_at: now, email_verified_at: input.emailVerified ? now : null };
    try {
      await this.deps.db.transaction().execute(async (trx) => {
        await trx.insertInto('users').values({ ...user, password_hash: '' }).execute();
        await also(trx, user);
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new ApiError('email_taken', 'email: an account with this email already exists', { field: 'email' });
      throw err;
    }
    return user;
  }

  async findByEmail(email: string): Promise<User | undefined> {
    return this.deps.db.selectFrom('users').select(['id', 'email', 'name', 'created_at', 'email_verified_at']).where('email', '=', email.trim().toLowerCase()).executeTakeFirst();
  }

  /** Whether the person can log in with a password (an account made through a provider has none until set). */
  async hasPassword(userId: string): Promise<boolean> {
    const row = await this.deps.db.selectFrom('users').select('password_hash').where('id', '=', userId).executeTakeFirst();
    return !!row?.password_hash;
  }

  /** Checks a password under the log-in limits (see LOGIN_* above); the outcome goes to the audit log. */
  async authenticate(emailInput: string, password: string, client: ClientInfo): Promise<User> {
    const ip = client.ip;
    const email = emailInput.trim().toLowerCase();
    const limiter = this.deps.limiter;
    const here = { key: `login:acct-ip:${email}|${ip}`, limit: LOGIN_FAILURES_PER_ACCOUNT_AND_ADDRESS, windowMs: LOGIN_WINDOW_MS };
    const everywhere = `login:acct:${email}`;
    const fromAddress = await limiter.hit(`login:ip:${ip}`, LOGIN_ATTEMPTS_PER_ADDRESS, LOGIN_WINDOW_MS);
    if (!fromAddress.allowed) throw tooManyLogins(fromAddress.retryAfter);
    const blocked = await limiter.peek([here]);
    if (!blocked.allowed) throw tooManyLogins(blocked.retryAfter);
    const delay = loginDelayMs(await limiter.count(everywhere));
    if (delay > 0) await sleep(delay);

    const row = await this.deps.db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
    // An account without a password (made through a provider) costs the same scrypt and fails.
    const ok = await verifyPassword(password, row?.password_hash || (await dummyPasswordHash())) && !!row?.password_hash;
    if (!row || !ok) {
      await limiter.hit(here.key, here.limit, here.windowMs);
      await limiter.hit(everywhere, Number.MAX_SAFE_INTEGER, LOGIN_WINDOW_MS);
      // The address asked for is the target when no account has it (a guesser's list, for the operator).
      await recordAudit(this.deps.db, {
        actor: { type: 'anonymous', id: ip }, action: 'login.failed', target: row ? { type: 'user', id: row.id } : { type: 'email', id: email.slice(0, EMAIL_MAX) },
        summary: row ? 'wrong password' : 'no account has this address', client, at: this.deps.clock.now(),
      });
      throw new ApiError('invalid_credentials', 'The email or password is not correct');
    }
    await recordAudit(this.deps.db, { actor: { type: 'user', id: row.id }, action: 'login.password', target: { type: 'user', id: row.id }, summary: 'right password', client, at: this.deps.clock.now() });
    // The owner's own address starts afresh; what other addresses did to the account stays counted.
    await limiter.reset(here.key);
    const { password_hash: _omit, ...user } = row;
    return user;
  }

  /** `secondFactor`: the log-in passed a second factor (auth/second-factor.ts). */
  async createSession(userId: string, secondFactor = false): Promise<string> {
    const token = newSecret('tss');
    const now = this.deps.clock.now();
    await this.deps.db.insertInto('sessions').values({ id_hash: sha256(token), user_id: userId, created_at: now, expires_at: now + SESSION_TTL_MS, second_factor: secondFactor ? 1 : 0 }).execute();
    return token;
  }

  /** The session's person, and whether its log-in passed a second factor. */
  async session(token: string | undefined): Promise<{ user: User; secondFactor: boolean } | undefined> {
    if (!token) return undefined;
    const row = await this.deps.db.selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .select(['users.id', 'users.email', 'users.name', 'users.created_at', 'users.email_verified_at', 'sessions.expires_at', 'sessions.second_factor'])
      .where('sessions.id_hash', '=', sha256(token))
      .executeTakeFirst();
    if (!row || row.expires_at <= this.deps.clock.now()) return undefined;
    const { expires_at: _e, second_factor: secondFactor, ...user } = row;
    return { user, secondFactor: secondFactor === 1 };
  }

  async endSession(token: string | undefined, client?: ClientInfo): Promise<void> {
    if (!token) return;
    await this.deps.db.transaction().execute(async (trx) => {
      const session = await trx.selectFrom('sessions').select('user_id').where('id_hash', '=', sha256(token)).executeTakeFirst();
      if (!session) return;
      await trx.deleteFrom('sessions').where('id_hash', '=', sha256(token)).execute();
      await recordAudit(trx, { actor: { type: 'user', id: session.user_id }, action: 'logout', target: { type: 'user', id: session.user_id }, ...(client ? { client } : {}), at: this.deps.clock.now() });
    });
  }

  async getUser(userId: string): Promise<User | undefined> {
    return this.deps.db.selectFrom('users').select(['id', 'email', 'name', 'created_at', 'email_verified_at']).where('id', '=', userId).executeTakeFirst();
  }

  /** A new password (a reset link was followed): every session of the person ends. */
  async setPassword(userId: string, password: string, client?: ClientInfo): Promise<void> {
    const user = await this.getUser(userId);
    await checkNewPassword(password, [user?.name ?? '', user?.email ?? '']);
    const hash = await hashPassword(password);
    await this.deps.db.transaction().execute(async (trx) => {
      await trx.updateTable('users').set({ password_hash: hash }).where('id', '=', userId).execute();
      await trx.deleteFrom('sessions').where('user_id', '=', userId).execute();
      await recordAudit(trx, { actor: { type: 'user', id: userId }, action: 'password.reset', target: { type: 'user', id: userId }, summary: 'through an e-mailed link; every session ended', ...(client ? { client } : {}), at: this.deps.clock.now() });
    });
  }

  /** Confirms the signed-in person's own password before a sensitive change. */
  async checkOwnPassword(userId: string, password: string, field = 'password'): Promise<void> {
    const row = await this.deps.db.selectFrom('users').select('password_hash').where('id', '=', userId).executeTakeFirstOrThrow();
    if (!(await verifyPassword(password, row.password_hash))) throw new ApiError('invalid_credentials', `${field}: is not correct`, { field });
  }

  /**
   * The person changes their password: the current one is needed, the new one must be strong, and
   * every other session of theirs ends (this one, `keepSession`, stays).
   */
  async changePassword(userId: string, current: string, next: string, keepSession?: string, client?: ClientInfo): Promise<void> {
    const row = await this.deps.db.selectFrom('users').select(['password_hash', 'name', 'email']).where('id', '=', userId).executeTakeFirstOrThrow();
    if (!(await verifyPassword(current, row.password_hash))) throw new ApiError('invalid_credentials', 'current_password: is not correct', { field: 'current_password' });
    await checkNewPassword(next, [row.name, row.email], 'new_password');
    const hash = await hashPassword(next);
    await this.deps.db.transaction().execute(async (trx) => {
      await trx.updateTable('users').set({ password_hash: hash }).where('id', '=', userId).execute();
      let others = trx.deleteFrom('sessions').where('user_id', '=', userId);
      if (keepSession) others = others.where('id_hash', '!=', sha256(keepSession));
      await others.execute();
      await recordAudit(trx, { actor: { type: 'user', id: userId }, action: 'password.changed', target: { type: 'user', id: userId }, summary: 'every other session ended', ...(client ? { client } : {}), at: this.deps.clock.now() });
    });
  }

  /** What the policy needs to know about a person; `secondFactor` as memberRoles takes it. */
  async actor(userId: string, secondFactor?: boolean): Promise<Actor> {
    const [phones, members] = await Promise.all([
      this.deps.db.selectFrom('phone_numbers').select('e164').where('user_id', '=', userId).where('verified_at', 'is not', null).execute(),
      memberRoles(this.deps.db, userId, undefined, secondFactor),
    ]);
    return { userId, phones: phones.map((p) => p.e164), orgRoles: members.roles, needsSecondFactor: members.needsSecondFactor };
  }
}
