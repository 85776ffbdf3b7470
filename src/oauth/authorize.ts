// Validating an authorization request (RFC 6749 §4.1.1, RFC 7636, OpenID Connect Core §3.1.2).
// Two kinds of failure: while the client or its redirect URI is not established, the person sees
// an error page and is never redirected (RFC 6749 §4.1.2.1, an open-redirect defence); after
// that, errors go back to the redirect URI with state and iss.
import type { Deps } from '../deps.js';
import { findClient } from './queries.js';
import { toClient, type Client } from './client-auth.js';
import { InvalidRequest, InvalidScope, UnauthorizedClient, UnsupportedResponseType, type OAuthError } from './errors.js';
import { OPEN_DIRECTORY, parseScopes, splitScope, type DirectoryFamily, type ParsedScope } from './scopes.js';
import { NUL_MESSAGE } from '../http/nul.js';

/** Shown as a page, never redirected. */
export class AuthorizePageError extends Error {}

export type RawParams = Record<string, unknown>;

export const AUTHORIZATION_PARAMS = ['response_type', 'client_id', 'redirect_uri', 'scope', 'state', 'code_challenge', 'code_challenge_method',
  'nonce', 'prompt', 'login_hint', 'max_age', 'auth_after', 'login'] as const;
const PROMPTS = new Set(['none', 'login', 'consent', 'create', 'signup', 'select_account']);
const CHALLENGE = /^[A-Za-z0-9\-_]{43}$/;

export interface ClientAndRedirect { client: Client; redirectUri: string; state: string | undefined }

export interface AuthorizationRequest extends ClientAndRedirect {
  scopes: ParsedScope[];
  scope: string;
  codeChallenge: string | undefined;
  nonce: string | undefined;
  prompt: Set<string>;
  loginHint: string | undefined;
  /** OpenID Connect Core §3.1.2.1: the longest time since the person last logged in, in ms. */
  maxAgeMs: number | undefined;
  /** Set by Tessera after prompt=login: the session must have begun at or after this time. */
  authAfter: number | undefined;
  /** The request's own parameters, single-valued, to carry through log-in and consent. */
  params: Record<string, string>;
}

/** RFC 6749 §3.1: parameters MUST NOT be included more than once. */
function single(params: RawParams, name: string): string | undefined {
  const v = params[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new InvalidRequest(`${name}: must be given once`);
  // The global NUL check (http/nul.ts) is off for these routes so that this reaches the client.
  if (v.includes('\u0000')) throw new InvalidRequest(`${name}: ${NUL_MESSAGE}`);
  return v;
}

// http on a loopback IP literal, with an optional port; the rest of the URI stays as written.
const LOOPBACK_REDIRECT = /^http:\/\/(127\.0\.0\.1|\[::1\])(?::(\d{1,5}))?([/?][^#]*)?$/;

/**
 * Exact match, or RFC 8252 §7.3: a native app listening on a loopback IP literal gets whatever
 * port the operating system gave it, so for http://127.0.0.1 and http://[::1] the port is
 * ignored and everything else must match exactly. `localhost` is not included (§8.3: a name can
 * resolve elsewhere).
 */
export function redirectUriMatches(registered: readonly string[], requested: string): boolean {
  if (registered.includes(requested)) return true;
  const req = LOOPBACK_REDIRECT.exec(requested);
  if (!req || (req[2] !== undefined && !(Number(req[2]) >= 1 && Number(req[2]) <= 65535))) return false;
  return registered.some((uri) => {
    const reg = LOOPBACK_REDIRECT.exec(uri);
    return reg !== null && reg[1] === req[1] && (reg[3] ?? '') === (req[3] ?? '');
  });
}

export async function resolveClientAndRedirect(deps: Deps, params: RawParams, platform?: { orgId: string }): Promise<ClientAndRedirect> {
  const clientId = params.client_id;
  if (typeof clientId !== 'string' || !clientId) throw new AuthorizePageError('The request does not name a client (client_id is missing).');
  if (clientId.includes('\u0000')) throw new AuthorizePageError(`client_id: ${NUL_MESSAGE}`);
  const row = await findClient(deps.db, clientId);
  if (!row) throw new AuthorizePageError('The application that sent you here is not registered with Tessera.');
  const client = toClient(row, 'none');
  // A platform's sign-in serves its own organisation's apps, never another's (whose person would
  // be asked to consent under a brand that is not the app's).
  if (platform && client.orgId !== platform.orgId) throw new AuthorizePageError('This application may not use this sign-in page.');
  const redirectUri = params.redirect_uri;
  if (typeof redirectUri !== 'string' || !redirectUri) throw new AuthorizePageError('The request does not say where to send you back (redirect_uri is missing).');
  // RFC 9700 §4.1.3: exact string comparison with a registered URI, nothing looser, except the
  // port of a loopback IP literal (RFC 8252 §7.3).
  if (!redirectUriMatches(client.redirectUris, redirectUri)) throw new AuthorizePageError('The address the application wants to send you back to is not registered for it.');
  const state = params.state;
  return { client, redirectUri, state: typeof state === 'string' ? state : undefined };
}

export function validateAuthorizationRequest(base: ClientAndRedirect, raw: RawParams, directory: ReadonlySet<DirectoryFamily> = OPEN_DIRECTORY): AuthorizationRequest {
  const params: Record<string, string> = {};
  for (const name of AUTHORIZATION_PARAMS) {
    const v = single(raw, name);
    if (v !== undefined) params[name] = v;
  }
  const { client } = base;
  const responseType = params.response_type;
  if (!responseType) throw new InvalidRequest('response_type: is required');
  if (responseType !== 'code') throw new UnsupportedResponseType('only response_type=code is supported');
  if (!client.grantTypes.includes('authorization_code')) throw new UnauthorizedClient('this client may not use the authorization code flow');

  const prompt = new Set(splitScope(params.prompt));
  for (const p of prompt) if (!PROMPTS.has(p)) throw new InvalidRequest(`prompt: "${p}" is not supported`);
  // OpenID Connect Core §3.1.2.1: none with any other value is an error.
  if (prompt.has('none') && prompt.size > 1) throw new InvalidRequest('prompt: none cannot be combined with other values');

  const method = params.code_challenge_method;
  const challenge = params.code_challenge;
  if (method !== undefined && challenge === undefined) throw new InvalidRequest('code_challenge: is required with code_challenge_method');
  if (challenge !== undefined) {
    // RFC 9700 §2.1.1: plain offers no protection against a leaked request; only S256.
    if ((method ?? 'plain') !== 'S256') throw new InvalidRequest('code_challenge_method: only S256 is supported');
    if (!CHALLENGE.test(challenge)) throw new InvalidRequest('code_challenge: must be the base64url SHA-256 of the code_verifier (43 characters)');
  } else if (client.type === 'public') {
    throw new InvalidRequest('code_challenge: is required for public clients (PKCE, RFC 7636)');
  }

  // RFC 6749 §3.3: without a scope the client gets its registered permissions.
  const requested = params.scope === undefined ? client.permissions : splitScope(params.scope);
  if (requested.length === 0) throw new InvalidScope('scope: must not be empty');
  const scopes = parseScopes(requested, client.permissions, directory);
  const maxAge = params.max_age;
  if (maxAge !== undefined && !/^\d{1,9}$/.test(maxAge)) throw new InvalidRequest('max_age: must be a whole number of seconds');
  const authAfter = params.auth_after !== undefined && /^\d{1,16}$/.test(params.auth_after) ? Number(params.auth_after) : undefined;
  return {
    ...base, scopes, scope: scopes.map((s) => s.raw).join(' '), codeChallenge: challenge, nonce: params.nonce, prompt,
    loginHint: params.login_hint ?? params.login, maxAgeMs: maxAge === undefined ? undefined : Number(maxAge) * 1000, authAfter, params,
  };
}

/** An authorization response (RFC 6749 §4.1.2) or error (§4.1.2.1), with iss (RFC 9207). */
export function redirectTo(redirectUri: string, issuer: string, values: Record<string, string | undefined>): string {
  const url = new URL(redirectUri);
  for (const [k, v] of Object.entries({ ...values, iss: issuer })) if (v !== undefined) url.searchParams.append(k, v);
  return url.toString();
}

export function errorRedirect(base: ClientAndRedirect, issuer: string, err: OAuthError): string {
  return redirectTo(base.redirectUri, issuer, { error: err.error, error_description: err.description, state: base.state });
}
