// RFC 6749 §6: refresh. Every use spends the refresh token and issues the next one of its family's
// chain (rotation); a spent token presented again means two parties hold it, so the whole family
// is revoked (RFC 9700 §4.14.2). Of two concurrent uses exactly one appends the link that spends
// the token (the unique key on what a link spends is the compare-and-set) and the other is a
// reuse: one wins, then the family is revoked.
import type { Deps } from '../../deps.js';
import type { Client } from '../client-auth.js';
import { InvalidGrant, InvalidScope } from '../errors.js';
import { appendRefreshToken, findRefreshToken, revokeFamily, spendRefreshToken, type RefreshTokenState } from '../queries.js';
import { mintRefreshToken, refreshLinkId } from '../refresh-token-format.js';
import { memberRoles } from '../../auth/second-factor.js';
import { ANY_DIRECTORY, parseScopes, personMayKeep, splitScope, targetedOrgs } from '../scopes.js';
import { bearerFor, issueTokens, type Bearer, type TokenResponse } from '../tokens.js';
import { required, type Grant, type TokenParams } from './types.js';

async function handler(deps: Deps, client: Client, params: TokenParams): Promise<TokenResponse> {
  const token = required(params, 'refresh_token');
  const now = deps.clock.now();
  const linkId = refreshLinkId(token);
  // Spend the token and append the next one together with the read, with the other refreshes of
  // this turn (on PostgreSQL one round trip, on SQLite one transaction), when no check after the
  // append can refuse the refresh (no narrower scope asked for; a lost role revokes the whole
  // family anyway). Anything else, and any refusal, takes the path below, which reads the token
  // again and says why.
  if (linkId && params.scope === undefined) {
    const next = mintRefreshToken(now);
    const row = await spendRefreshToken(deps.db, token, linkId, next.link, client.id, now);
    if (row) return issue(deps, client, row, splitScope(row.scope), next.token, now);
  }

  const row = await findRefreshToken(deps.db, token);
  // RFC 6749 §10.4: a refresh token is bound to the client it was issued to.
  if (!row || row.connector_id !== client.id) throw new InvalidGrant('the refresh token is not valid');
  if (row.revoked_at !== null) throw new InvalidGrant('the refresh token has been revoked');
  if (row.spent) return reuse(deps, row.familyId);
  if (row.expiresAt <= now) throw new InvalidGrant('the refresh token has expired');
  // RFC 6749 §6: a narrower scope may be asked for, never a wider one.
  const granted = splitScope(row.scope);
  const asked = params.scope === undefined ? granted : splitScope(params.scope);
  const extra = asked.find((s) => !granted.includes(s));
  if (extra) throw new InvalidScope(`the scope "${extra}" was not granted to this refresh token`);

  const next = mintRefreshToken(now);
  if (!(await appendRefreshToken(deps.db, next.link, row.familyId, row.linkId))) return reuse(deps, row.familyId);
  return issue(deps, client, row, asked, next.token, now);
}

/** The tokens of a refresh whose next link has been appended. */
async function issue(deps: Deps, client: Client, row: RefreshTokenState, asked: string[], refreshToken: string, now: number): Promise<TokenResponse> {
  // An `Org/` scope was granted by an owner or admin of that organisation; one who is no longer
  // — or who lacks the two-factor authentication it has come to require (auth/second-factor.ts) —
  // loses the grant, instead of keeping it through endless rotation. Checked after the append:
  // revoking the family makes the appended link as dead as the rest.
  const orgIds = targetedOrgs(row.scope);
  if (row.user_id && orgIds.length && !personMayKeep(orgIds, row.user_id, (await memberRoles(deps.db, row.user_id, orgIds)).roles)) {
    await revokeFamily(deps.db, row.familyId, now, 'organisation role lost');
    throw new InvalidGrant('the person who granted this refresh token no longer acts for the organisation it targets as an owner or admin (or lacks the two-factor authentication it requires); every token of this grant is revoked');
  }
  const bearer: Bearer = row.user_id ? bearerFor(parseScopes(asked, client.permissions, ANY_DIRECTORY), row.user_id) : { id: client.orgId, type: 'Organization' };
  return issueTokens(deps, {
    client, familyId: row.familyId, userId: row.user_id ?? undefined, scope: asked.join(' '), authTime: row.auth_time, refreshToken, bearer,
  }, now);
}

async function reuse(deps: Deps, familyId: string): Promise<never> {
  await revokeFamily(deps.db, familyId, deps.clock.now(), 'refresh token reused');
  throw new InvalidGrant('the refresh token has already been used; every token of this grant is revoked');
}

export const refreshToken: Grant = { grantType: 'refresh_token', handler };
