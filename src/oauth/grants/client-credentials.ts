// RFC 6749 §4.4: a confidential client acting for its own organisation. The scopes carry
// `Org/<uuid>.` (Zaikio); without a scope parameter the client gets all its permissions for its
// organisation (RFC 6749 §3.3 allows a documented default). No refresh token (§4.4.3).
import type { Deps } from '../../deps.js';
import { uuidv7 } from '../../lib/ids.js';
import { prepared } from '../../db/prepared.js';
import type { Client } from '../client-auth.js';
import { UnauthorizedClient } from '../errors.js';
import { insertFamily } from '../queries.js';
import { checkClientCredentialsScopes, parseScopes, splitScope } from '../scopes.js';
import { issueTokens, type TokenResponse } from '../tokens.js';
import type { Grant, TokenParams } from './types.js';

// The client's live family for this scope, if it has one.
const familyFor = prepared<{ connectorId: string; scope: string }>()((db, p) => db.selectFrom('oauth_families').select('id')
  .where('connector_id', '=', p.connectorId).where('user_id', 'is', null).where('scope', '=', p.scope).where('revoked_at', 'is', null)
  .orderBy('created_at').limit(1));

/**
 * Access tokens carry a grant family (gid) so introspection and userinfo can tell a revoked one at
 * once. Client credentials involve no person, code or refresh token, so nothing ever revokes such
 * a family but the client's deletion; one family per client and scope is made on first use and
 * reused, instead of a row written per token. (Two first requests at once may make two; both are
 * valid.) A single token is still revoked by its jti.
 */
async function clientFamily(deps: Deps, client: Client, scope: string, now: number): Promise<string> {
  const families = deps.caches.region<string>('oauth:client-families', { tables: ['oauth_families', 'connectors'], max: 50_000, ttlMs: 60_000 });
  const key = `${client.id} ${scope}`;
  const lookup = async () => (await familyFor.first(deps.db, { connectorId: client.id, scope }))?.id;
  const found = await families.load(key, lookup);
  if (found) return found;
  const id = uuidv7(now);
  await insertFamily(deps.db, { id, connector_id: client.id, user_id: null, scope, auth_time: null, created_at: now, revoked_at: null, revoked_reason: null });
  // The insert emptied the region (any write to its tables does); read the family back through
  // it, so the next request finds it in memory rather than every client's first pass missing.
  return (await families.load(key, lookup)) ?? id;
}

async function handler(deps: Deps, client: Client, params: TokenParams): Promise<TokenResponse> {
  if (client.type !== 'confidential') throw new UnauthorizedClient('public clients cannot use client_credentials');
  const raw = params.scope === undefined ? client.permissions.map((p) => `Org/${client.orgId}.${p}`) : splitScope(params.scope);
  const scopes = parseScopes(raw, client.permissions);
  checkClientCredentialsScopes(scopes, client.orgId);
  const now = deps.clock.now();
  const scope = scopes.map((s) => s.raw).join(' ');
  const familyId = await clientFamily(deps, client, scope, now);
  return issueTokens(deps, { client, familyId, scope, bearer: { id: client.orgId, type: 'Organization' } }, now);
}

export const clientCredentials: Grant = { grantType: 'client_credentials', handler };
