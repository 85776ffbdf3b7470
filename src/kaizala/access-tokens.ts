// Access tokens for the platform API: JWTs per RFC 9068 (typ at+jwt), signed with Tessera's
// current key, 24 hours long. Besides the standard claims they carry the grant they were issued
// under and two generations; a token is honoured only while its grant is active and both
// generations still match, so revoking a grant, replacing its refresh token, rotating the
// connector's secret or deleting the connector stops it at once.
import type { Deps } from '../deps.js';
import { ApiError } from '../lib/errors.js';
import { uuidv7 } from '../lib/ids.js';
import { signJwt, verifyJwt } from '../keys/jwt.js';
import { VerifiedTokens } from '../keys/verified-tokens.js';
import { prepared } from '../db/prepared.js';
import type { ReadCache } from '../db/read-cache.js';
import { isPermission, type Permission } from '../connectors/permissions.js';
import type { AuditBy, ClientInfo } from '../audit/audit-log.js';

export const ACCESS_TOKEN_TTL_MS = 24 * 3600 * 1000;
export const ACCESS_TOKEN_TYP = 'at+jwt';

/** What a request may do; shared between requests with the same token scope and grant row. */
export interface PlatformContext {
  readonly connectorId: string;
  readonly connectorName: string;
  readonly grantId: string;
  readonly groupId: string;
  readonly orgId: string;
  readonly permissions: ReadonlySet<Permission>;
}

/** A connector acting through the platform API with its access token, as the audit log records it. */
export const byConnector = (ctx: PlatformContext, client: ClientInfo): AuditBy => ({ actor: { type: 'connector', id: ctx.connectorId }, client });

export const platformAudience = (publicUrl: string): string => `${publicUrl}/v1`;

interface GrantRow {
  id: string; group_id: string; generation: number; revoked_at: number | null; connector_id: string;
  connector_name: string; secret_generation: number; permissions: string; org_id: string;
}

// The grant as it is now, with what the token check needs of its connector and group.
const grantById = prepared<{ id: string }>()((db, p) => db.selectFrom('grants')
  .innerJoin('connectors', 'connectors.id', 'grants.connector_id')
  .innerJoin('groups', 'groups.id', 'grants.group_id')
  .select(['grants.id', 'grants.group_id', 'grants.generation', 'grants.revoked_at', 'connectors.id as connector_id',
    'connectors.name as connector_name', 'connectors.secret_generation', 'connectors.permissions', 'groups.org_id'])
  .where('grants.id', '=', p.id));

const unauthenticated = () => new ApiError('unauthenticated', 'accessToken: send the access token in the accessToken header or as Authorization: Bearer', { field: 'accessToken' });
const expired = () => new ApiError('token_expired', 'accessToken: has expired; get a new one from the token service', { field: 'accessToken' });

export class PlatformTokens {
  private readonly verified = new VerifiedTokens();
  private readonly grants: ReadCache<GrantRow>;
  private readonly contexts = new WeakMap<GrantRow, { scope: string; ctx: PlatformContext }>();
  private readonly audience: string;

  constructor(private readonly deps: Deps) {
    // A refresh token rotated drops only its own grant's entry (read-cache.ts).
    this.grants = deps.caches.region<GrantRow>('platform:grants', { tables: ['grants', 'connectors', 'groups'], max: 50_000 },
      { grants: (row) => row.id });
    this.audience = platformAudience(deps.config.publicUrl);
  }

  async issue(
    grant: { id: string; generation: number; groupId: string },
    connector: { id: string; secretGeneration: number; permissions: string[] },
    now: number,
  ): Promise<{ token: string; expiresAt: number }> {
    const expiresAt = now + ACCESS_TOKEN_TTL_MS;
    const token = await signJwt(this.deps.keys, {
      client_id: connector.id,
      scope: connector.permissions.join(' '),
      gid: grant.id,
      grp: grant.groupId,
      ggen: grant.generation,
      cgen: connector.secretGeneration,
    }, {
      typ: ACCESS_TOKEN_TYP,
      issuer: this.deps.config.publicUrl,
      audience: this.audience,
      subject: connector.id,
      jti: uuidv7(now),
      issuedAt: now,
      expiresAt,
    });
    return { token, expiresAt };
  }

  /** Verifies a platform access token and loads what it may do; throws 401 with a stable code otherwise. */
  async authenticate(token: string | undefined): Promise<PlatformContext> {
    if (!token) throw unauthenticated();
    const now = this.deps.clock.now();
    let p = this.verified.get(token, now);
    if (p === 'expired') throw expired();
    if (!p) {
      const v = await verifyJwt(this.deps.keys, token, { issuer: this.deps.config.publicUrl, audience: this.audience, typ: ACCESS_TOKEN_TYP, now });
      if (!v.ok) throw v.reason === 'expired' ? expired() : new ApiError('invalid_token', 'accessToken: is not a valid access token', { field: 'accessToken' });
      p = v.payload;
      this.verified.remember(token, p);
    }
    const { gid, ggen, cgen } = p;
    if (typeof gid !== 'string' || typeof ggen !== 'number' || typeof cgen !== 'number') {
      throw new ApiError('invalid_token', 'accessToken: is not a platform access token', { field: 'accessToken' });
    }
    const row = await this.grants.load(gid, () => grantById.first(this.deps.db, { id: gid }));
    if (!row || row.revoked_at !== null || row.generation !== ggen || row.secret_generation !== cgen || row.connector_id !== p.sub) {
      throw new ApiError('invalid_token', 'accessToken: has been revoked', { field: 'accessToken' });
    }
    const scope = typeof p.scope === 'string' ? p.scope : '';
    // The context depends only on the grant row and the token's scope; a row read again (after
    // any change to it) is a new object, so the memo can never outlive what it was made from.
    const memo = this.contexts.get(row);
    if (memo?.scope === scope) return memo.ctx;
    // The token's scope, narrowed by whatever the connector may still do today.
    const current = JSON.parse(row.permissions) as string[];
    const permissions = new Set(scope.split(' ').filter((s): s is Permission => isPermission(s) && current.includes(s)));
    const ctx: PlatformContext = { connectorId: row.connector_id, connectorName: row.connector_name, grantId: row.id, groupId: row.group_id, orgId: row.org_id, permissions };
    this.contexts.set(row, { scope, ctx });
    return ctx;
  }
}
