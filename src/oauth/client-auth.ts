// Client authentication at the token, revocation and introspection endpoints (RFC 6749 §2.3):
// client_secret_basic, client_secret_post, or none for public clients. Secrets are compared in
// constant time against their SHA-256; an unknown client is compared against a dummy hash so the
// answer's timing does not tell which part was wrong. Attempts are limited per client and per
// address (RFC 6749 §10.10), like log-in: counted before the check, cleared by a success.
import type { Deps } from '../deps.js';
import type { ConnectorsTable } from '../db/schema.js';
import { safeEqual, sha256 } from '../lib/hash.js';
import type { GrantType } from './client-metadata.js';
import { InvalidClient, InvalidRequest } from './errors.js';
import { findClient } from './queries.js';

const LIMIT_PER_CLIENT = { limit: 20, windowMs: 5 * 60_000 };
const LIMIT_PER_IP = { limit: 100, windowMs: 5 * 60_000 };

export type AuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';

export interface Client {
  id: string;
  orgId: string;
  name: string;
  type: 'confidential' | 'public';
  permissions: string[];
  redirectUris: string[];
  grantTypes: GrantType[];
  authMethod: AuthMethod;
}

export function toClient(row: ConnectorsTable, authMethod: AuthMethod): Client {
  return {
    id: row.id, orgId: row.org_id, name: row.name, type: row.client_type, authMethod,
    permissions: JSON.parse(row.permissions) as string[],
    redirectUris: JSON.parse(row.redirect_uris) as string[],
    grantTypes: JSON.parse(row.grant_types) as GrantType[],
  };
}

export interface ClientCredentialsInput {
  authorization?: string | undefined;
  client_id?: string | undefined;
  client_secret?: string | undefined;
}

/** RFC 6749 §2.3.1: the id and secret are form-urlencoded before Base64. */
function parseBasic(header: string): { id: string; secret: string } {
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) throw new InvalidClient('the Authorization header is not valid HTTP Basic', true);
  try {
    return { id: decodeURIComponent(decoded.slice(0, i).replace(/\+/g, ' ')), secret: decodeURIComponent(decoded.slice(i + 1).replace(/\+/g, ' ')) };
  } catch {
    throw new InvalidClient('the Authorization header is not valid HTTP Basic', true);
  }
}

export async function authenticateClient(deps: Deps, input: ClientCredentialsInput, ip: string): Promise<Client> {
  const basic = input.authorization && /^basic /i.test(input.authorization) ? parseBasic(input.authorization) : undefined;
  // RFC 6749 §2.3: a client MUST NOT use more than one authentication method in a request.
  if (basic && input.client_secret !== undefined) throw new InvalidRequest('use only one client authentication method');
  if (basic && input.client_id !== undefined && input.client_id !== basic.id) throw new InvalidRequest('client_id does not match the authenticated client');
  const id = basic?.id ?? input.client_id;
  const secret = basic?.secret ?? input.client_secret;
  const method: AuthMethod = basic ? 'client_secret_basic' : secret !== undefined ? 'client_secret_post' : 'none';
  if (!id) throw new InvalidClient('client authentication is required', Boolean(basic));

  if (method === 'none') {
    const row = await findClient(deps.db, id);
    if (!row) throw new InvalidClient('client authentication failed');
    if (row.client_type !== 'public') throw new InvalidClient('this client must authenticate with its secret');
    return toClient(row, method);
  }

  const keys = [[`oauth-client:${id}`, LIMIT_PER_CLIENT], [`oauth-client-ip:${ip}`, LIMIT_PER_IP]] as const;
  for (const [key, rule] of keys) {
    const r = await deps.limiter.hit(key, rule.limit, rule.windowMs);
    if (!r.allowed) {
      const err = new InvalidClient('too many client authentication attempts; try again later', Boolean(basic), 429);
      err.retryAfter = r.retryAfter;
      throw err;
    }
  }
  const row = await findClient(deps.db, id);
  const ok = safeEqual(sha256(secret ?? ''), row?.secret_hash || sha256('no such client'));
  if (!row || !ok || row.client_type === 'public') throw new InvalidClient('client authentication failed', Boolean(basic));
  for (const [key] of keys) await deps.limiter.reset(key);
  return toClient(row, method);
}
