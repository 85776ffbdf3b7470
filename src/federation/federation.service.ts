// Federated sign-in: the rules. A sign-in is started for a browser (its state row, spent once by
// the callback); the callback's identity is matched by (provider, subject) — never by e-mail. An
// unknown identity makes an account just in time, unless an account already has its e-mail: then
// it is linked only once the person proves they own that account (a verified address is needed
// even for that), and an unverified address is never linked. Every refusal is audited; nothing
// else is written for it.
import { createHmac } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Deps } from '../deps.js';
import type { Database } from '../db/schema.js';
import { isUniqueViolation } from '../deps.js';
import { ApiError } from '../lib/errors.js';
import { sha256 } from '../lib/hash.js';
import { newId, randomToken } from '../lib/ids.js';
import { recordAudit, type ClientInfo } from '../audit/audit-log.js';
import type { AccountsService, User } from '../accounts/accounts.service.js';
import { UpstreamError, UpstreamProvider, type ExternalIdentity } from './upstream.js';

/** How long a person has at the provider before the sign-in expires. */
export const FEDERATED_LOGIN_TTL_MS = 10 * 60_000;
// Starting sign-ins writes a row each: one address may start this many in the window.
const STARTS_PER_ADDRESS = 30;
const STARTS_WINDOW_MS = 10 * 60_000;

/** Why a sign-in failed, as a page says it; `platform` dresses the page when the sign-in began on one. */
export class FederatedLoginError extends ApiError {
  platform: string | undefined;
  /** Where the sign-in was going, so "Back to log in" keeps it. */
  next: string | undefined;
}

/** Where a sign-in goes on from, kept with its state. */
export interface Continuation {
  next: string;
  platform: string | undefined;
}

export type CallbackOutcome = Continuation & (
  | { kind: 'signed-in'; user: User; providerMfa: boolean; created: boolean; label: string }
  | { kind: 'linked'; user: User; label: string }
  /** An account has the identity's verified e-mail: the person must log in to it to link. */
  | { kind: 'confirm-link'; pending: PendingLink; label: string });

/** An identity waiting for the owner of the account with its e-mail to log in (kept sealed in a cookie). */
export interface PendingLink {
  userId: string;
  email: string;
  identity: ExternalIdentity;
}

export interface LinkedIdentity {
  id: string;
  providerId: string;
  label: string;
  email: string | null;
  tenantId: string | null;
  createdAt: number;
  lastLoginAt: number | null;
}

export class FederationService {
  private readonly providers = new Map<string, UpstreamProvider>();

  constructor(private readonly deps: Deps, private readonly accounts: AccountsService, private readonly key: Buffer) {
    for (const p of deps.config.loginProviders) this.providers.set(p.id, new UpstreamProvider(p, callbackUrl(deps.config.publicUrl, p.id)));
  }

  /** The buttons: every configured provider, in configuration order. */
  list(): { id: string; label: string }[] {
    return [...this.providers.values()].map((p) => ({ id: p.id, label: p.label }));
  }

  labelOf(id: string): string {
    return this.providers.get(id)?.label ?? id;
  }

  private provider(id: string): UpstreamProvider {
    const p = this.providers.get(id);
    if (!p) throw new ApiError('not_found', 'There is no such sign-in provider here.');
    return p;
  }

  /** The PKCE verifier and the nonce come from the state and a secret key: nothing of them is stored. */
  private derive(purpose: 'pkce' | 'nonce', state: string): string {
    return createHmac('sha256', this.key).update(`${purpose}\n${state}`).digest('base64url');
  }

  /**
   * Starts a sign-in (or, with `linkUserId`, linking another identity) for the browser bound to
   * `binding`: the state row, then the provider's authorization URL.
   */
  async start(input: { providerId: string; binding: string; next: string; platform?: string; linkUserId?: string; client: ClientInfo }): Promise<string> {
    const provider = this.provider(input.providerId);
    const now = this.deps.clock.now();
    const limit = await this.deps.limiter.hit(`federated:start:${input.client.ip}`, STARTS_PER_ADDRESS, STARTS_WINDOW_MS);
    if (!limit.allowed) throw new ApiError('rate_limited', 'Too many sign-ins started from this address; try again later', undefined, limit.retryAfter);
    const state = randomToken(32);
    let url: string;
    try {
      url = await provider.authorizationUrl(state, this.derive('nonce', state), this.derive('pkce', state), now);
    } catch (err) {
      if (!(err instanceof UpstreamError)) throw err;
      throw await this.refuse({ providerId: provider.id, reason: err.reason, client: input.client, userId: input.linkUserId, platform: input.platform, next: input.linkUserId ? undefined : input.next },
        'upstream_unavailable', `${provider.label} cannot be reached right now, so you cannot sign in with it. Try again in a few minutes${input.linkUserId ? '' : ', or log in with your e-mail and password'}.`);
    }
    await this.deps.db.insertInto('federated_logins').values({
      state_hash: sha256(state), provider_id: provider.id, binding_hash: sha256(input.binding), link_user_id: input.linkUserId ?? null,
      next: input.next, platform: input.platform ?? null, created_at: now, expires_at: now + FEDERATED_LOGIN_TTL_MS, used_at: null,
    }).execute();
    return url;
  }

  /** The provider sent the person back: the sign-in is spent, then the identity is checked and matched. */
  async callback(input: { providerId: string; params: URLSearchParams; binding: string; client: ClientInfo }): Promise<CallbackOutcome> {
    const provider = this.provider(input.providerId);
    const now = this.deps.clock.now();
    const state = input.params.get('state') ?? '';
    const fail = (reason: string, code: Parameters<FederationService['refuse']>[1], message: string, row?: { link_user_id: string | null; platform: string | null; next: string }) =>
      this.refuse({ providerId: provider.id, reason, client: input.client, userId: row?.link_user_id ?? undefined, platform: row?.platform ?? undefined, next: row && !row.link_user_id ? row.next : undefined }, code, message);
    const startAgain = `Start again from the log-in page and choose ${provider.label}.`;

    const row = state ? await this.deps.db.selectFrom('federated_logins').selectAll().where('state_hash', '=', sha256(state)).executeTakeFirst() : undefined;
    if (!row) throw await fail(state ? 'unknown state' : 'no state', 'validation_failed', `This sign-in answer does not belong to a sign-in started here. ${startAgain}`);
    if (row.provider_id !== provider.id) throw await fail('state of another provider', 'validation_failed', `This sign-in answer does not belong to a sign-in started here. ${startAgain}`, row);
    if (row.used_at !== null) throw await fail('callback replayed', 'validation_failed', `This sign-in has already been used. ${startAgain}`, row);
    if (row.expires_at <= now) throw await fail('sign-in expired', 'validation_failed', `This sign-in took too long and has expired. ${startAgain}`, row);
    if (row.binding_hash !== sha256(input.binding)) throw await fail('state of another browser', 'validation_failed', `This sign-in was started in another browser, so it cannot finish in this one. ${startAgain}`, row);
    // Spent before anything else: of two deliveries of one answer, only one goes on.
    const spent = await this.deps.db.updateTable('federated_logins').set({ used_at: now }).where('state_hash', '=', row.state_hash).where('used_at', 'is', null).executeTakeFirst();
    if (Number(spent.numUpdatedRows) !== 1) throw await fail('callback replayed', 'validation_failed', `This sign-in has already been used. ${startAgain}`, row);

    let identity: ExternalIdentity;
    try {
      identity = await provider.complete(input.params, state, this.derive('nonce', state), this.derive('pkce', state), now);
    } catch (err) {
      if (!(err instanceof UpstreamError)) throw err;
      const [code, message] = ({
        denied: ['forbidden', `You did not allow the sign-in at ${provider.label}, so nothing changed here. You can try again, or log in another way.`],
        tenant: ['forbidden', `Accounts of your organisation's ${provider.label} directory may not sign in here. Ask the administrator, or log in another way.`],
        rejected: ['validation_failed', `${provider.label} sent an answer that could not be verified, so you were not signed in. ${startAgain}`],
        unreachable: ['upstream_unavailable', `${provider.label} could not be reached to finish signing you in. Try again in a few minutes.`],
      } as const)[err.kind];
      throw await fail(err.reason, code, message, row);
    }
    const go: Continuation = { next: row.next, platform: row.platform ?? undefined };
    const label = provider.label;
    const existing = await this.deps.db.selectFrom('user_identities').select(['id', 'user_id']).where('provider_id', '=', identity.providerId).where('subject', '=', identity.subject).executeTakeFirst();

    if (row.link_user_id) {
      if (existing && existing.user_id !== row.link_user_id) {
        throw await fail('identity linked to another account', 'conflict', `This ${label} account is already linked to another Tessera account. Unlink it there first.`, row);
      }
      const user = (await this.accounts.getUser(row.link_user_id))!;
      if (!existing) await this.link(this.deps.db, user.id, identity, input.client, 'linked from the account page');
      else await this.touch(existing.id, identity, now);
      return { ...go, kind: 'linked', user, label };
    }

    if (existing) {
      await this.touch(existing.id, identity, now);
      const user = (await this.accounts.getUser(existing.user_id))!;
      await this.audit({ type: 'user', id: user.id }, 'login.federated', identity, input.client, `signed in with ${label}${identity.mfa ? ' (MFA asserted)' : ''}`);
      return { ...go, kind: 'signed-in', user, providerMfa: identity.mfa, created: false, label };
    }

    if (!identity.email) {
      throw await fail('no e-mail address', 'validation_failed', `${label} did not tell us your e-mail address, which a Tessera account needs. Allow sharing your e-mail at ${label}, or sign up with e-mail and password.`, row);
    }
    const owner = await this.accounts.findByEmail(identity.email);
    if (owner) {
      if (!identity.emailVerified) {
        throw await fail('e-mail of an existing account, not verified by the provider', 'conflict',
          `An account with ${identity.email} already exists, and ${label} did not confirm that this address is yours, so it cannot be linked. Log in with your password, then link ${label} under Account.`, row);
      }
      return { ...go, kind: 'confirm-link', pending: { userId: owner.id, email: owner.email, identity }, label };
    }
    try {
      const user = await this.accounts.signupWithoutPassword({ email: identity.email, name: identity.name ?? '', emailVerified: identity.emailVerified }, async (trx, u) => {
        await this.link(trx, u.id, identity, input.client, `account made at the first sign-in with ${label}`);
      });
      await this.audit({ type: 'user', id: user.id }, 'login.federated', identity, input.client, `signed in with ${label}${identity.mfa ? ' (MFA asserted)' : ''}`);
      return { ...go, kind: 'signed-in', user, providerMfa: identity.mfa, created: true, label };
    } catch (err) {
      // Another sign-in made the account or the link in the meantime.
      if ((err instanceof ApiError && err.code === 'email_taken') || isUniqueViolation(err)) throw await fail('account made concurrently', 'conflict', `Your account changed while signing in. ${startAgain}`, row);
      throw err;
    }
  }

  /** The owner of the account with the identity's e-mail logged in: the identity is theirs now. */
  async completeLink(userId: string, pending: PendingLink, client: ClientInfo): Promise<boolean> {
    if (pending.userId !== userId) return false;
    try {
      await this.link(this.deps.db, userId, pending.identity, client, `linked after logging in to ${pending.email}`);
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  /** The person's linked identities, for the account page. */
  async identities(userId: string): Promise<LinkedIdentity[]> {
    const rows = await this.deps.db.selectFrom('user_identities').selectAll().where('user_id', '=', userId).orderBy('created_at').execute();
    return rows.map((r) => ({
      id: r.id, providerId: r.provider_id, label: this.labelOf(r.provider_id),
      email: r.email, tenantId: r.tenant_id, createdAt: r.created_at, lastLoginAt: r.last_login_at,
    }));
  }

  /** Unlinks an identity, as long as a way to sign in remains: a password or another identity of a configured provider. */
  async unlink(userId: string, identityId: string, client: ClientInfo): Promise<LinkedIdentity> {
    const all = await this.identities(userId);
    const target = all.find((i) => i.id === identityId);
    if (!target) throw new ApiError('not_found', 'That sign-in method is not linked to your account.');
    const others = all.filter((i) => i.id !== identityId && this.providers.has(i.providerId));
    if (!others.length && !(await this.accounts.hasPassword(userId))) {
      throw new ApiError('conflict', `${target.label} is your only way to sign in. Set a password (Account → Forgot your password) or link another provider first.`);
    }
    await this.deps.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('user_identities').where('id', '=', identityId).where('user_id', '=', userId).execute();
      await recordAudit(trx, { actor: { type: 'user', id: userId }, action: 'identity.unlinked', target: { type: 'identity', id: identityId }, summary: `unlinked ${target.label}${target.email ? ` (${target.email})` : ''}`, client, at: this.deps.clock.now() });
    });
    return target;
  }

  private async link(db: Kysely<Database>, userId: string, identity: ExternalIdentity, client: ClientInfo, why: string): Promise<void> {
    const now = this.deps.clock.now();
    const id = newId();
    const write = async (trx: Kysely<Database>) => {
      await trx.insertInto('user_identities').values({
        id, user_id: userId, provider_id: identity.providerId, subject: identity.subject, tenant_id: identity.tenantId ?? null,
        email: identity.email ?? null, mfa: identity.mfa ? 1 : 0, created_at: now, last_login_at: now,
      }).execute();
      const label = this.labelOf(identity.providerId);
      await recordAudit(trx, { actor: { type: 'user', id: userId }, action: 'identity.linked', target: { type: 'identity', id }, summary: `${label}: ${why}`, client, at: now });
    };
    if (db.isTransaction) await write(db);
    else await db.transaction().execute(write);
  }

  /** What the provider said this time: the e-mail shown on the account page, and whether it asserted MFA. */
  private async touch(identityId: string, identity: ExternalIdentity, now: number): Promise<void> {
    await this.deps.db.updateTable('user_identities').set({ last_login_at: now, email: identity.email ?? null, mfa: identity.mfa ? 1 : 0 }).where('id', '=', identityId).execute();
  }

  private audit(actor: { type: 'user' | 'anonymous'; id: string }, action: string, identity: ExternalIdentity, client: ClientInfo, summary: string) {
    return recordAudit(this.deps.db, { actor, action, target: { type: 'login_provider', id: identity.providerId }, summary, client, at: this.deps.clock.now() });
  }

  /** Records a refused sign-in (nothing else is written) and gives the error its page shows. */
  private async refuse(
    f: { providerId: string; reason: string; client: ClientInfo; userId: string | undefined; platform: string | undefined; next?: string | undefined },
    code: 'validation_failed' | 'forbidden' | 'conflict' | 'upstream_unavailable', message: string,
  ): Promise<FederatedLoginError> {
    await recordAudit(this.deps.db, {
      actor: f.userId ? { type: 'user', id: f.userId } : { type: 'anonymous', id: f.client.ip }, action: 'login.federated_failed',
      target: { type: 'login_provider', id: f.providerId }, summary: f.reason, client: f.client, at: this.deps.clock.now(),
    });
    const err = new FederatedLoginError(code, message);
    err.platform = f.platform;
    err.next = f.next;
    return err;
  }
}

/** The one redirect URI registered at every provider: PUBLIC_URL/login/{id}/callback. */
export const callbackUrl = (publicUrl: string, providerId: string): string => `${publicUrl}/login/${providerId}/callback`;
