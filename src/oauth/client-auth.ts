// Client authentication at the token, revocation and introspection endpoints (RFC 6749 §2.3):
// client_secret_basic, client_secret_post, or none for public clients. Secrets are compared in
// constant time against their SHA-256; an unknown client is compared against a dummy hash so the
// answer's timing does not tell which part was wrong. Failures are limited per client and
// address and per address (RFC 6749 §10.10).
import type { Deps } from '../deps.js';
import type { ConnectorsTable } from '../db/schema.js';
import { safeEqual, sha256 } from '../lib/hash.js';
import type { GrantType } from './client-metadata.js';
import { InvalidClient, InvalidRequest } from './errors.js';
import { prepared } from '../db/prepared.js';
import type { ReadCache } from '../db/read-cache.js';
import { FailureLimit, secretFailureRules } from '../lib/rate-limit.js';

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
  /** Moves when the secret is rotated (or the client type changes): client-credentials tokens carry it. */
  secretGeneration: number;
  /** Moves when client_credentials is taken from the client: its tokens carry this too. */
  ccGeneration: number;
}

export function toClient(row: ConnectorsTable, authMethod: AuthMethod): Client {
  return {
    id: row.id, orgId: row.org_id, name: row.name, type: row.client_type, authMethod, secretGeneration: row.secret_generation, ccGeneration: row.cc_generation,
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
  let id: string;
  let secret: string;
  try {
    id = decodeURIComponent(decoded.slice(0, i).replace(/\+/g, ' '));
    secret = decodeURIComponent(decoded.slice(i + 1).replace(/\+/g, ' '));
  } catch {
    throw new InvalidClient('the Authorization header is not valid HTTP Basic', true);
  }
  // Decoded from Base64 and percent-encoding, past the guard that keeps NUL out of bodies and
  // query strings (http/nul.ts); PostgreSQL refuses NUL in text.
  if (id.includes('\u0000') || secret.includes('\u0000')) throw new InvalidClient('the Authorization header is not valid HTTP Basic', true);
  return { id, secret };
}

interface ClientRecord {
  client: Omit<Client, 'authMethod'>;
  secretHash: string;
  /** The client as each authentication method presents it, made once per cached record. */
  as: Partial<Record<AuthMethod, Client>>;
}

const asMethod = (rec: ClientRecord, method: AuthMethod): Client => (rec.as[method] ??= { ...rec.client, authMethod: method });

const clientById = prepared<{ id: string }>()((db, p) => db.selectFrom('connectors').selectAll().where('id', '=', p.id));

// An unknown client is compared against this, so the answer's timing does not tell which part was wrong.
const NO_SUCH_SECRET = sha256('no such client');

/**
 * Client authentication for one database: client rows come from a cache that any write to
 * connectors empties (read-cache.ts), so a deleted client or a rotated secret is refused at once.
 */
export class ClientAuthenticator {
  private readonly clients: ReadCache<ClientRecord>;
  private readonly failures: FailureLimit;

  constructor(private readonly deps: Deps) {
    this.clients = deps.caches.region('oauth:clients', { tables: ['connectors'], max: 50_000 });
    this.failures = new FailureLimit(deps.limiter);
  }

  private record(id: string): Promise<ClientRecord | undefined> {
    return this.clients.load(id, async () => {
      const row = await clientById.first(this.deps.db, { id });
      if (!row) return undefined;
      const { authMethod: _m, ...client } = toClient(row, 'none');
      return { client, secretHash: row.secret_hash, as: {} };
    });
  }

  async authenticate(input: ClientCredentialsInput, ip: string): Promise<Client> {
    const basic = input.authorization && /^basic /i.test(input.authorization) ? parseBasic(input.authorization) : undefined;
    // RFC 6749 §2.3: a client MUST NOT use more than one authentication method in a request.
    if (basic && input.client_secret !== undefined) throw new InvalidRequest('use only one client authentication method');
    if (basic && input.client_id !== undefined && input.client_id !== basic.id) throw new InvalidRequest('client_id does not match the authenticated client');
    const id = basic?.id ?? input.client_id;
    const secret = basic?.secret ?? input.client_secret;
    const method: AuthMethod = basic ? 'client_secret_basic' : secret !== undefined ? 'client_secret_post' : 'none';
    if (!id) throw new InvalidClient('client authentication is required', Boolean(basic));

    if (method === 'none') {
      const rec = await this.record(id);
      if (!rec) throw new InvalidClient('client authentication failed');
      if (rec.client.type !== 'public') throw new InvalidClient('this client must authenticate with its secret');
      return asMethod(rec, method);
    }

    // Failures are limited per client and address (RFC 6749 §10.10); once a limit is reached even
    // the right secret waits, or a guesser could tell a correct guess by its answer.
    const rules = secretFailureRules('oauth-client', id, ip);
    const tooMany = (retryAfter: number): InvalidClient => {
      const err = new InvalidClient('too many client authentication attempts; try again later', Boolean(basic), 429);
      err.retryAfter = retryAfter;
      return err;
    };
    const wait = await this.failures.blocked(rules);
    if (wait !== undefined) throw tooMany(wait);
    const rec = await this.record(id);
    // Public clients have no secret: their stored hash is empty and matches nothing.
    const ok = safeEqual(sha256(secret ?? ''), rec?.secretHash || NO_SUCH_SECRET);
    if (!rec || !ok || rec.client.type === 'public') {
      const blocked = await this.failures.fail(rules);
      if (blocked !== undefined) throw tooMany(blocked);
      throw new InvalidClient('client authentication failed', Boolean(basic));
    }
    return asMethod(rec, method);
  }
}
