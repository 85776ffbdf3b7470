// What the token endpoint hands out. Access tokens are JWTs per RFC 9068 (typ at+jwt), signed
// with Tessera's current key and published through the JWKS, so resource servers verify them
// offline; they also carry the grant family (gid) so introspection and userinfo notice a revoked
// family or a revoked token id at once. Refresh tokens are opaque, prefixed, stored as SHA-256.
import type { Deps } from '../deps.js';
import { uuidv7 } from '../lib/ids.js';
import { signJwt, verifyJwt } from '../keys/jwt.js';
import type { Client } from './client-auth.js';
import { hasScope, splitScope, targetedOrgs, type ParsedScope } from './scopes.js';
import { checkPrivateToken, PRIVATE_TOKEN_CLIENT_ID } from '../private-tokens/verify.js';
import { findClient, findFamily, isAccessTokenRevoked } from './queries.js';

export const ACCESS_TOKEN_TTL_MS = 60 * 60_000;
export const ID_TOKEN_TTL_MS = 60 * 60_000;
export const AT_TYP = 'at+jwt';

export type Bearer = { id: string; type: 'Person' | 'Organization' };

export interface TokenResponse {
  access_token: string;
  token_type: 'bearer';
  expires_in: number;
  scope: string;
  refresh_token?: string;
  id_token?: string;
  /** Zaikio's response shape: who the token acts for. */
  bearer: Bearer;
}

export interface IssueInput {
  client: Client;
  /** The grant family; undefined for client credentials. */
  familyId: string | undefined;
  /** The person; undefined for client credentials. */
  userId?: string | undefined;
  scope: string;
  bearer: Bearer;
  /** Already stored (inside the grant's transaction) by the caller. */
  refreshToken?: string | undefined;
  nonce?: string | null | undefined;
  authTime?: number | null | undefined;
}

/** Zaikio: a person's token acts for the organisation its scopes target, if they target one. */
export function bearerFor(scopes: ParsedScope[], userId: string): Bearer {
  const org = scopes.find((s) => s.bearer?.type === 'Org' && s.bearer.id);
  return org ? { id: org.bearer!.id!, type: 'Organization' } : { id: userId, type: 'Person' };
}

/**
 * Signs the access token (and ID token). Called after the grant's transaction has committed:
 * signing may reload the keys from the database, which inside an SQLite transaction would wait
 * for the very connection the transaction holds.
 */
export async function issueTokens(deps: Deps, input: IssueInput, now: number): Promise<TokenResponse> {
  const issuer = deps.config.publicUrl;
  const { client } = input;
  const accessToken = await signJwt(deps.keys, {
    client_id: client.id, scope: input.scope,
    // A grant family, or for client credentials the client's secret generation and its
    // client-credentials generation: its tokens stop when the secret they were obtained with is
    // rotated, as platform access tokens do, and stay stopped when the grant type is taken away
    // and given back.
    ...(input.familyId ? { gid: input.familyId } : { cgen: client.secretGeneration, ccgen: client.ccGeneration }),
    ...(input.authTime ? { auth_time: Math.floor(input.authTime / 1000) } : {}),
  }, {
    typ: AT_TYP, issuer,
    // RFC 9068 §3: the resource is Tessera's own API (the issuer); Zaikio's verifiers look for
    // the app in aud as well.
    audience: [issuer, client.id],
    // RFC 9068 §2.2: with no resource owner (client credentials), sub names the client.
    subject: input.userId ?? client.id,
    jti: uuidv7(now), issuedAt: now, expiresAt: now + ACCESS_TOKEN_TTL_MS,
  });
  const out: TokenResponse = { access_token: accessToken, token_type: 'bearer', expires_in: ACCESS_TOKEN_TTL_MS / 1000, scope: input.scope, bearer: input.bearer };
  if (input.refreshToken) out.refresh_token = input.refreshToken;
  if (input.userId && hasScope(input.scope, 'openid')) {
    // OpenID Connect Core §5.4: with the email scope the ID token says the address and whether
    // it is verified, so a client need not call userinfo to know.
    const email = hasScope(input.scope, 'email')
      ? await deps.db.selectFrom('users').select(['email', 'email_verified_at']).where('id', '=', input.userId).executeTakeFirst()
      : undefined;
    // OpenID Connect Core §2: the ID token is for the client (aud), names the person (sub).
    out.id_token = await signJwt(deps.keys, {
      azp: client.id,
      ...(email ? { email: email.email, email_verified: email.email_verified_at !== null } : {}),
      ...(input.nonce ? { nonce: input.nonce } : {}),
      ...(input.authTime ? { auth_time: Math.floor(input.authTime / 1000) } : {}),
    }, { typ: 'JWT', issuer, audience: client.id, subject: input.userId, jti: uuidv7(now), issuedAt: now, expiresAt: now + ID_TOKEN_TTL_MS });
  }
  return out;
}

export interface ActiveAccessToken {
  jti: string;
  /** Who the token acts for (Zaikio): the person, or the organisation its scopes target. */
  bearer: Bearer;
  sub: string;
  clientId: string;
  scope: string;
  /** The grant family; none for client credentials, whose grant is the client itself. */
  familyId: string | null;
  userId: string | null;
  iat: number;
  exp: number;
  aud: string[];
}

/** A valid, unrevoked access token of this issuer, or undefined. */
export async function activeAccessToken(deps: Deps, token: string): Promise<ActiveAccessToken | undefined> {
  const checked = await checkAccessToken(deps, token);
  return typeof checked === 'string' ? undefined : checked;
}

/**
 * The access token if it is valid and not revoked; otherwise why not: `expired` (its exp has
 * passed) or `invalid` (anything else: a bad signature, another issuer, revoked, its grant gone).
 */
export async function checkAccessToken(deps: Deps, token: string): Promise<ActiveAccessToken | 'expired' | 'invalid'> {
  const now = deps.clock.now();
  const v = await verifyJwt(deps.keys, token, { issuer: deps.config.publicUrl, typ: AT_TYP, now });
  if (!v.ok) return v.reason === 'expired' ? 'expired' : 'invalid';
  const p = v.payload;
  if (typeof p.client_id !== 'string' || typeof p.jti !== 'string' || typeof p.sub !== 'string') return 'invalid';
  if (p.client_id === PRIVATE_TOKEN_CLIENT_ID) return checkPrivateToken(deps, p, now);
  let userId: string | null = null;
  let bearer: Bearer;
  if (typeof p.gid === 'string') {
    const family = await findFamily(deps.db, p.gid);
    if (!family || family.revoked_at !== null || family.connector_id !== p.client_id) return 'invalid';
    userId = family.user_id;
    const org = targetedOrgs(typeof p.scope === 'string' ? p.scope : '')[0];
    bearer = org ? { id: org, type: 'Organization' } : { id: family.user_id ?? p.sub, type: 'Person' };
  } else {
    // Client credentials (RFC 9068 §2.2: sub is the client): active while the client still may
    // use that grant with the secret the token was obtained with — not once it is deleted, made
    // public, loses the grant type (even if it gets it back), or has its secret rotated.
    const client = p.gid === undefined && p.sub === p.client_id ? await findClient(deps.db, p.client_id) : undefined;
    if (!client || client.client_type !== 'confidential' || client.secret_generation !== p.cgen || client.cc_generation !== p.ccgen
      || !(JSON.parse(client.grant_types) as string[]).includes('client_credentials')) return 'invalid';
    bearer = { id: client.org_id, type: 'Organization' };
  }
  if (await isAccessTokenRevoked(deps.db, p.jti)) return 'invalid';
  return {
    jti: p.jti, bearer, sub: p.sub, clientId: p.client_id, scope: typeof p.scope === 'string' ? p.scope : '', familyId: typeof p.gid === 'string' ? p.gid : null, userId,
    iat: p.iat ?? 0, exp: p.exp ?? 0, aud: Array.isArray(p.aud) ? p.aud : p.aud ? [p.aud] : [],
  };
}

/** Scopes are kept space-separated (RFC 6749 §3.3); Zaikio's endpoint answers them comma-separated. */
export const formatScope = (scope: string, separator: ' ' | ','): string => (separator === ' ' ? scope : splitScope(scope).join(separator));
