// The authorization server's rules, behind the HTTP endpoints: the authorization flow (log-in,
// consent, codes), the token endpoint pipeline, revocation, introspection, userinfo and consents.
import type { Deps } from '../deps.js';
import { sha256 } from '../lib/hash.js';
import { newSecret } from '../lib/ids.js';
import { ClientAuthenticator, type Client, type ClientCredentialsInput } from './client-auth.js';
import {
  AccessDenied, ConsentRequired, InsufficientScope, InvalidToken, LoginRequired, OAuthError, UnauthorizedClient, UnsupportedGrantType, UnsupportedTokenType,
} from './errors.js';
import { GRANTS } from './grants/index.js';
import type { TokenParams } from './grants/types.js';
import {
  deleteConsent, findConsent, findRefreshToken, insertCode, listConsents, revokeAccessToken, revokeFamiliesOf, revokeFamily, saveConsent, sessionLogin, verifiedPhone,
} from './queries.js';
import { checkPersonMayGrant, hasScope, OPEN_DIRECTORY, PLATFORM_DIRECTORY, splitScope, type ParsedScope } from './scopes.js';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { memberRoles } from '../auth/second-factor.js';
import { recordAudit, type ClientInfo } from '../audit/audit-log.js';
import { activeAccessToken, type TokenResponse } from './tokens.js';
import {
  AuthorizePageError, errorRedirect, redirectTo, resolveClientAndRedirect, validateAuthorizationRequest, type AuthorizationRequest, type ClientAndRedirect, type RawParams,
} from './authorize.js';

/** RFC 9700 §4.5 / RFC 6749 §4.1.2: short-lived; a minute is plenty for a redirect and a POST. */
export const CODE_TTL_MS = 60_000;
export const CODE_PREFIX = 'toc';

/** RFC 7662 §2.2. */
export type Introspection = {
  active: boolean; scope?: string; client_id?: string; sub?: string; token_type?: string; exp?: number; iat?: number; iss?: string; aud?: string[]; jti?: string;
};

/** OpenID Connect Core §5.1 standard claims Tessera knows. */
export type UserInfo = { sub: string; name?: string; email?: string; email_verified?: boolean; phone_number?: string; phone_number_verified?: boolean };

export type AuthorizeOutcome =
  | { kind: 'redirect'; url: string }
  | { kind: 'consent'; request: AuthorizationRequest };

export interface Person { id: string }

/**
 * A white-label platform's authorization URL (/{name}/oauth/…): only the owning organisation's
 * apps may use it, its pages stay under /{name}/, `directory.platform_membership` scopes may be
 * asked for, and agreeing to them makes the person or organisation a member — `join` writes that
 * in the consent's transaction; `holds` says whether the memberships a request asks for exist.
 */
export interface WhiteLabel {
  name: string;
  orgId: string;
  join(trx: Kysely<Database>, scopes: ParsedScope[], userId: string): Promise<void>;
  holds(scopes: ParsedScope[], userId: string): Promise<boolean>;
}

export class OAuthService {
  private readonly clientAuth: ClientAuthenticator;

  constructor(private readonly deps: Deps) {
    this.clientAuth = new ClientAuthenticator(deps);
  }

  get issuer(): string {
    return this.deps.config.publicUrl;
  }

  // ---- authorization endpoint ----

  /**
   * GET /oauth/authorize. Throws AuthorizePageError while the client or redirect URI is unknown;
   * every later failure becomes an error redirect.
   */
  async authorize(raw: RawParams, person: Person | undefined, sessionToken: string | undefined, platform?: WhiteLabel): Promise<AuthorizeOutcome> {
    const base = await resolveClientAndRedirect(this.deps, raw, platform);
    try {
      const req = validateAuthorizationRequest(base, raw, platform ? PLATFORM_DIRECTORY : OPEN_DIRECTORY);
      const prompt = req.prompt;
      const wantsSignup = prompt.has('create') || prompt.has('signup');
      if (!person || prompt.has('login') || wantsSignup) {
        if (prompt.has('none')) throw new LoginRequired('the person is not logged in');
        return { kind: 'redirect', url: this.loginUrl(req, wantsSignup, platform) };
      }
      const authTime = await this.authTime(sessionToken);
      // After prompt=login the session must be one started after the request (a fresh log-in).
      if (req.authAfter !== undefined && authTime < req.authAfter) {
        if (prompt.has('none')) throw new LoginRequired('a fresh log-in is required');
        return { kind: 'redirect', url: this.loginUrl(req, false, platform) };
      }
      // OpenID Connect Core §3.1.2.1: a log-in older than max_age is made again (max_age=0 is
      // prompt=login). A log-in this request sent the person to (auth_after) is fresh enough
      // whatever max_age says; the ID token's auth_time lets the client check (§3.1.3.7).
      const age = this.deps.clock.now() - authTime;
      if (req.maxAgeMs !== undefined && req.authAfter === undefined && (age > req.maxAgeMs || req.maxAgeMs === 0)) {
        if (prompt.has('none')) throw new LoginRequired('the person last logged in longer ago than max_age allows');
        return { kind: 'redirect', url: this.loginUrl(req, false, platform) };
      }
      await this.checkMayGrant(req.scopes, person.id, sessionToken);
      const consent = await findConsent(this.deps.db, person.id, req.client.id);
      const consented = new Set(splitScope(consent?.scope));
      // A membership the platform ended since is asked for again, whatever the consent says.
      const covered = req.scopes.every((s) => consented.has(s.raw)) && (!platform || await platform.holds(req.scopes, person.id));
      if (covered && !prompt.has('consent')) return { kind: 'redirect', url: await this.issueCode(req, person.id, authTime) };
      if (prompt.has('none')) throw new ConsentRequired('the person has not consented to this request');
      return { kind: 'consent', request: req };
    } catch (err) {
      if (err instanceof OAuthError) return { kind: 'redirect', url: errorRedirect(base, this.issuer, err) };
      throw err;
    }
  }

  /** POST /oauth/consent: the person's answer on the consent page (CSRF-checked by the portal hooks). */
  async decide(raw: RawParams, person: Person | undefined, sessionToken: string | undefined, allow: boolean, platform?: WhiteLabel): Promise<string> {
    const base = await resolveClientAndRedirect(this.deps, raw, platform);
    try {
      const req = validateAuthorizationRequest(base, raw, platform ? PLATFORM_DIRECTORY : OPEN_DIRECTORY);
      if (!person) return this.loginUrl(req, false, platform);
      if (!allow) throw new AccessDenied('the person denied the request');
      await this.checkMayGrant(req.scopes, person.id, sessionToken);
      await this.consent(this.deps.db, req, person.id, platform);
      return await this.issueCode(req, person.id, await this.authTime(sessionToken));
    } catch (err) {
      if (err instanceof OAuthError) return errorRedirect(base, this.issuer, err);
      throw err;
    }
  }

  /** Where the error page sends nobody: exposed for tests of the page/redirect split. */
  errorRedirect(base: ClientAndRedirect, err: OAuthError): string {
    return errorRedirect(base, this.issuer, err);
  }

  /**
   * Records the person's agreement to a request: the consent, and on a platform the memberships
   * it asks for, in one transaction (the caller may pass its own: an account made at sign-up).
   */
  async consent(db: Kysely<Database>, req: AuthorizationRequest, userId: string, platform?: WhiteLabel): Promise<void> {
    const now = this.deps.clock.now();
    const write = async (trx: Kysely<Database>) => {
      const previous = splitScope((await findConsent(trx, userId, req.client.id))?.scope);
      await saveConsent(trx, userId, req.client.id, [...new Set([...previous, ...req.scopes.map((s) => s.raw)])].join(' '), now);
      if (platform) await platform.join(trx, req.scopes, userId);
      // An organisation an `Org/` scope targets sees the grant in its own log.
      const orgId = req.scopes.find((s) => s.bearer?.type === 'Org' && s.bearer.id)?.bearer?.id ?? null;
      await recordAudit(trx, { actor: { type: 'user', id: userId }, orgId, action: 'oauth.consent_granted', target: { type: 'connector', id: req.client.id }, summary: `${req.client.name}: ${req.scope}`, at: now });
    };
    if (db.isTransaction) await write(db);
    else await db.transaction().execute(write);
  }

  /** The request as the sign-up and log-in pages show it (what the person agrees to), or undefined. */
  async pendingRequest(next: string | undefined, platform?: WhiteLabel): Promise<AuthorizationRequest | undefined> {
    const path = platform ? `/${platform.name}/oauth/authorize?` : '/oauth/authorize?';
    if (!next?.startsWith(path)) return undefined;
    const raw = Object.fromEntries(new URLSearchParams(next.slice(path.length)));
    try {
      const base = await resolveClientAndRedirect(this.deps, raw, platform);
      return validateAuthorizationRequest(base, raw, platform ? PLATFORM_DIRECTORY : OPEN_DIRECTORY);
    } catch (err) {
      // A request that would not be served shows no promise on the form; the log-in still works.
      if (err instanceof AuthorizePageError || err instanceof OAuthError) return undefined;
      throw err;
    }
  }

  private loginUrl(req: AuthorizationRequest, signup: boolean, platform?: WhiteLabel): string {
    // Back to this request after log-in, without the prompt that sent us away, and demanding a
    // session that starts from now on (so prompt=login cannot be skipped by coming straight back).
    const { prompt: _p, ...rest } = req.params;
    const prefix = platform ? `/${platform.name}` : '';
    const next = `${prefix}/oauth/authorize?${new URLSearchParams({ ...rest, auth_after: String(this.deps.clock.now()) }).toString()}`;
    const q = new URLSearchParams({ next });
    if (req.loginHint) q.set(signup ? 'email' : 'login_hint', req.loginHint);
    return `${prefix}${signup ? '/signup' : '/login'}?${q.toString()}`;
  }

  private async issueCode(req: AuthorizationRequest, userId: string, authTime: number): Promise<string> {
    const now = this.deps.clock.now();
    const code = newSecret(CODE_PREFIX);
    await insertCode(this.deps.db, {
      code_hash: sha256(code), connector_id: req.client.id, user_id: userId, redirect_uri: req.redirectUri, scope: req.scope,
      code_challenge: req.codeChallenge ?? null, nonce: req.nonce ?? null, auth_time: authTime, created_at: now, expires_at: now + CODE_TTL_MS,
      redeemed_at: null, family_id: null,
    });
    return redirectTo(req.redirectUri, this.issuer, { code, state: req.state });
  }

  private async authTime(sessionToken: string | undefined): Promise<number> {
    return (sessionToken ? (await sessionLogin(this.deps.db, sha256(sessionToken)))?.created_at : undefined) ?? this.deps.clock.now();
  }

  /** Org/ scopes: the person's roles, as the organisation's two-factor requirement leaves them for this log-in. */
  private async checkMayGrant(scopes: ParsedScope[], userId: string, sessionToken: string | undefined): Promise<void> {
    const login = sessionToken ? await sessionLogin(this.deps.db, sha256(sessionToken)) : undefined;
    const { roles, needsSecondFactor } = await memberRoles(this.deps.db, userId, undefined, login ? login.second_factor === 1 : undefined);
    checkPersonMayGrant(scopes, userId, roles, needsSecondFactor);
  }

  // ---- token endpoint (RFC 6749 §3.2) ----

  async token(params: TokenParams & ClientCredentialsInput, ip: string): Promise<TokenResponse> {
    const grant = GRANTS.get(params.grant_type ?? '');
    if (!grant) throw new UnsupportedGrantType(`grant_type "${params.grant_type}" is not supported`);
    const client = await this.clientAuth.authenticate(params, ip);
    if (!client.grantTypes.includes(grant.grantType)) throw new UnauthorizedClient(`this client may not use the ${grant.grantType} grant`);
    return grant.handler(this.deps, client, params);
  }

  // ---- revocation (RFC 7009) ----

  async revoke(input: ClientCredentialsInput & { token: string; token_type_hint?: string | undefined }, ip: string): Promise<void> {
    const client = await this.clientAuth.authenticate(input, ip);
    const hint = input.token_type_hint;
    // RFC 7009 §2.2.1: a hint the server does not know is an error; a wrong hint is not.
    if (hint !== undefined && hint !== 'access_token' && hint !== 'refresh_token') throw new UnsupportedTokenType(`token_type_hint "${hint}" is not supported`);
    const now = this.deps.clock.now();
    const refresh = await findRefreshToken(this.deps.db, input.token);
    if (refresh) {
      // §2.1: revoking a refresh token revokes the grant, and the access tokens issued under it.
      if (refresh.connector_id === client.id) await revokeFamily(this.deps.db, refresh.familyId, now, 'revoked by the client');
      return;
    }
    const access = await activeAccessToken(this.deps, input.token);
    // §2.2: an invalid token, or another client's, is answered 200 all the same (nothing to tell).
    if (access && access.clientId === client.id) await revokeAccessToken(this.deps.db, access.jti, access.exp * 1000);
  }

  // ---- introspection (RFC 7662) ----

  async introspect(input: ClientCredentialsInput & { token: string }, ip: string): Promise<Introspection> {
    const client = await this.clientAuth.authenticate(input, ip);
    if (client.type !== 'confidential') throw new UnauthorizedClient('public clients cannot introspect tokens');
    // As in revoke(): the refresh token first. Its lookup costs nothing for a token not shaped as
    // one (no query), while verifying a refresh token as a JWT fails by throwing.
    const now = this.deps.clock.now();
    const refresh = await findRefreshToken(this.deps.db, input.token);
    // §2.2 and §4: a token of another client is reported inactive, so clients cannot scan.
    if (refresh) {
      if (refresh.connector_id !== client.id || refresh.revoked_at !== null || refresh.spent || refresh.expiresAt <= now) return { active: false };
      return {
        active: true, scope: refresh.scope, client_id: refresh.connector_id, token_type: 'refresh_token', exp: Math.floor(refresh.expiresAt / 1000), iss: this.issuer,
        ...(refresh.user_id ? { sub: refresh.user_id } : {}),
      };
    }
    const access = await activeAccessToken(this.deps, input.token);
    if (access && access.clientId === client.id) {
      return {
        active: true, scope: access.scope, client_id: access.clientId, sub: access.sub, token_type: 'bearer',
        exp: access.exp, iat: access.iat, iss: this.issuer, aud: access.aud, jti: access.jti,
      };
    }
    return { active: false };
  }

  // ---- userinfo (OpenID Connect Core §5.3) ----

  async userinfo(accessToken: string | undefined): Promise<UserInfo> {
    if (!accessToken) throw new InvalidToken('send the access token as Authorization: Bearer');
    const access = await activeAccessToken(this.deps, accessToken);
    if (!access || !access.userId) throw new InvalidToken('the access token is not valid');
    if (!hasScope(access.scope, 'openid')) throw new InsufficientScope('the access token lacks the openid scope');
    const user = await this.deps.db.selectFrom('users').select(['id', 'name', 'email', 'email_verified_at']).where('id', '=', access.userId).executeTakeFirst();
    if (!user) throw new InvalidToken('the access token is not valid');
    const out: UserInfo = { sub: user.id };
    if (hasScope(access.scope, 'profile')) out.name = user.name;
    // OpenID Connect Core §5.1: verified only once a link sent to this very address was followed.
    if (hasScope(access.scope, 'email')) Object.assign(out, { email: user.email, email_verified: user.email_verified_at !== null });
    if (hasScope(access.scope, 'phone')) {
      const phone = await verifiedPhone(this.deps.db, user.id);
      if (phone) Object.assign(out, { phone_number: phone.e164, phone_number_verified: true });
    }
    return out;
  }

  // ---- consents (portal) ----

  listConsents(userId: string) {
    return listConsents(this.deps.db, userId);
  }

  /** Withdrawing consent also revokes every token the connector holds for the person. */
  async withdrawConsent(userId: string, connectorId: string, client?: ClientInfo): Promise<void> {
    await this.deps.db.transaction().execute(async (trx) => {
      const had = await findConsent(trx, userId, connectorId);
      await deleteConsent(trx, userId, connectorId);
      await revokeFamiliesOf(trx, userId, connectorId, this.deps.clock.now(), 'consent withdrawn');
      if (had) await recordAudit(trx, { actor: { type: 'user', id: userId }, action: 'oauth.consent_withdrawn', target: { type: 'connector', id: connectorId }, summary: had.scope, ...(client ? { client } : {}), at: this.deps.clock.now() });
    });
  }
}

export type { Client };
