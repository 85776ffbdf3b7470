// RFC 6749 §4.1.3: exchanging an authorization code. The code is bound to the client, the
// redirect URI and the PKCE challenge; it is single use (a compare-and-set on redeemed_at), and a
// second use revokes everything the first one issued (RFC 6749 §4.1.2, RFC 9700 §4.5).
import { createHash } from 'node:crypto';
import type { Deps } from '../../deps.js';
import { safeEqual, sha256 } from '../../lib/hash.js';
import { uuidv7 } from '../../lib/ids.js';
import type { Client } from '../client-auth.js';
import { InvalidGrant, InvalidRequest } from '../errors.js';
import { findCode, insertFamily, appendRefreshToken, redeemCode, revokeFamily } from '../queries.js';
import { ACCESS_TOKEN_TTL_MS, bearerFor, issueTokens, type TokenResponse } from '../tokens.js';
import { mintRefreshToken } from '../refresh-token-format.js';
import { ANY_DIRECTORY, parseScopes, splitScope } from '../scopes.js';
import { required, type Grant, type TokenParams } from './types.js';

const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;

async function handler(deps: Deps, client: Client, params: TokenParams): Promise<TokenResponse> {
  const code = required(params, 'code');
  const redirectUri = required(params, 'redirect_uri');
  const verifier = params.code_verifier;
  if (verifier !== undefined && !VERIFIER.test(verifier)) throw new InvalidRequest('code_verifier: must be 43 to 128 characters of [A-Za-z0-9-._~] (RFC 7636 §4.1)');
  const now = deps.clock.now();
  const codeHash = sha256(code);
  const row = await findCode(deps.db, codeHash);
  if (!row || row.connector_id !== client.id) throw new InvalidGrant('the authorization code is not valid');
  if (row.redeemed_at !== null) return replay(deps, codeHash);
  if (row.expires_at <= now) throw new InvalidGrant('the authorization code has expired');
  if (row.redirect_uri !== redirectUri) throw new InvalidGrant('redirect_uri does not match the one of the authorization request');
  if (row.code_challenge === null) {
    // RFC 9700 §4.8.2: a verifier for a code issued without a challenge is a PKCE downgrade.
    if (verifier !== undefined) throw new InvalidGrant('code_verifier was sent but the authorization request had no code_challenge');
  } else {
    if (verifier === undefined) throw new InvalidGrant('code_verifier: is required for this authorization code');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    if (!safeEqual(challenge, row.code_challenge)) throw new InvalidGrant('code_verifier does not match the code_challenge');
  }

  const familyId = uuidv7(now);
  const scope = row.scope;
  // Everything that can fail is decided before the code is spent.
  const bearer = bearerFor(parseScopes(splitScope(scope), client.permissions, ANY_DIRECTORY), row.user_id);
  const refresh = client.grantTypes.includes('refresh_token') ? mintRefreshToken(now) : undefined;
  const won = await deps.db.transaction().execute(async (trx) => {
    if (!(await redeemCode(trx, codeHash, now, familyId))) return false;
    // Without a refresh token the family ends with its access tokens; with one, with its chain.
    await insertFamily(trx, {
      id: familyId, connector_id: client.id, user_id: row.user_id, scope, auth_time: row.auth_time, created_at: now, revoked_at: null, revoked_reason: null,
      expires_at: refresh ? null : now + ACCESS_TOKEN_TTL_MS,
    });
    // A family's first link spends nothing, so nothing can refuse it but a failed write, and the
    // transaction must not commit a family without its refresh token then.
    if (refresh && !(await appendRefreshToken(trx, refresh.link, familyId, null))) throw new Error('the first refresh token of a new grant family could not be stored');
    return true;
  });
  if (!won) return replay(deps, codeHash);
  return issueTokens(deps, {
    client, familyId, userId: row.user_id, scope, nonce: row.nonce, authTime: row.auth_time, refreshToken: refresh?.token, bearer,
  }, now);
}

/** A second redemption: revoke what the first one issued, then refuse. */
async function replay(deps: Deps, codeHash: string): Promise<never> {
  const row = await findCode(deps.db, codeHash);
  if (row?.family_id) await revokeFamily(deps.db, row.family_id, deps.clock.now(), 'authorization code reused');
  throw new InvalidGrant('the authorization code has already been used; the tokens issued for it are revoked');
}

export const authorizationCode: Grant = { grantType: 'authorization_code', handler };
