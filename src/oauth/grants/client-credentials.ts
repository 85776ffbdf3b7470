// RFC 6749 §4.4: a confidential client acting for its own organisation. The scopes carry
// `Org/<uuid>.` (Zaikio); without a scope parameter the client gets all its permissions for its
// organisation (RFC 6749 §3.3 allows a documented default). No refresh token (§4.4.3).
import type { Deps } from '../../deps.js';
import type { Client } from '../client-auth.js';
import { UnauthorizedClient } from '../errors.js';
import { checkClientCredentialsScopes, OPEN_DIRECTORY, parseScopes, splitScope, type DirectoryFamily } from '../scopes.js';
import { platformByApp } from '../../platforms/queries.js';
import { issueTokens, type TokenResponse } from '../tokens.js';
import type { Grant, TokenParams } from './types.js';

// The default scope (every permission, for the client's organisation) of each client object the
// authenticator hands out (one per cached client row), worked out once.
const defaultScopes = new WeakMap<Client, string>();

/**
 * A platform's app may act for its owner organisation on the Platform API
 * (`Org/<owner uuid>.directory.platform.rw`); other clients only on the open directory scopes.
 */
const PLATFORM_APP_DIRECTORY: ReadonlySet<DirectoryFamily> = new Set([...OPEN_DIRECTORY, 'platform']);

async function directoryFamilies(deps: Deps, client: Client, asked: string | undefined): Promise<ReadonlySet<DirectoryFamily>> {
  if (!asked?.includes('directory.platform.')) return OPEN_DIRECTORY;
  const platform = await platformByApp(deps.db, client.id);
  return platform && platform.org_id === client.orgId ? PLATFORM_APP_DIRECTORY : OPEN_DIRECTORY;
}

function grantedScope(client: Client, asked: string | undefined, directory: ReadonlySet<DirectoryFamily>): string {
  if (asked === undefined) {
    const known = defaultScopes.get(client);
    if (known !== undefined) return known;
  }
  const raw = asked === undefined ? client.permissions.map((p) => `Org/${client.orgId}.${p}`) : splitScope(asked);
  const scopes = parseScopes(raw, client.permissions, directory);
  checkClientCredentialsScopes(scopes, client.orgId);
  const scope = scopes.map((s) => s.raw).join(' ');
  if (asked === undefined) defaultScopes.set(client, scope);
  return scope;
}

async function handler(deps: Deps, client: Client, params: TokenParams): Promise<TokenResponse> {
  if (client.type !== 'confidential') throw new UnauthorizedClient('public clients cannot use client_credentials');
  const scope = grantedScope(client, params.scope, await directoryFamilies(deps, client, params.scope));
  const now = deps.clock.now();
  // No grant family and nothing written: the grant is the client's registration itself, so
  // introspection judges these tokens by the client (tokens.ts activeAccessToken); a single token
  // is revoked by its jti.
  return issueTokens(deps, { client, familyId: undefined, scope, bearer: { id: client.orgId, type: 'Organization' } }, now);
}

export const clientCredentials: Grant = { grantType: 'client_credentials', handler };
