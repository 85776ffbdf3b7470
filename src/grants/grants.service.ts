// Grants: a group admin gives a connector access to one group and receives a refresh token,
// shown once. A new token for the same connector and group replaces the old one; revoking the
// grant stops every token issued under it (access tokens carry the grant's generation).
import type { Deps } from '../deps.js';
import type { Actor } from '../auth/policy.js';
import { ApiError, notFound } from '../lib/errors.js';
import { sha256 } from '../lib/hash.js';
import { newId, newSecret } from '../lib/ids.js';
import { byPerson, recordAudit } from '../audit/audit-log.js';
import type { OrgsService } from '../orgs/orgs.service.js';

export const REFRESH_TOKEN_PREFIX = 'trt';
export const REFRESH_TOKEN_TTL_MS = 365 * 24 * 3600 * 1000;

export interface GrantView {
  id: string;
  connector_id: string;
  connector_name: string;
  connector_org_name: string;
  permissions: string[];
  created_at: number;
  refresh_token_expires_at: number | null;
}

export class GrantsService {
  constructor(private readonly deps: Deps, private readonly orgs: OrgsService) {}

  /** "Add Connector" on a group: creates the grant or replaces its refresh token. */
  async grant(actor: Actor, groupId: string, connectorIdInput: string): Promise<{ grantId: string; refreshToken: string; expiresAt: number }> {
    const group = await this.orgs.authorizeGroup(actor, groupId, 'group.manage');
    const connectorId = connectorIdInput.trim();
    const connector = /^[0-9a-f-]{36}$/i.test(connectorId)
      ? await this.deps.db.selectFrom('connectors').select(['id', 'name']).where('id', '=', connectorId.toLowerCase()).executeTakeFirst()
      : undefined;
    if (!connector) throw new ApiError('not_found', 'connectorId: no connector has this ID', { field: 'connectorId' });
    const refreshToken = newSecret(REFRESH_TOKEN_PREFIX);
    const now = this.deps.clock.now();
    const expiresAt = now + REFRESH_TOKEN_TTL_MS;
    const grantId = await this.deps.db.transaction().execute(async (trx) => {
      const existing = await trx.selectFrom('grants').select(['id']).where('connector_id', '=', connector.id).where('group_id', '=', groupId).executeTakeFirst();
      const fields = { refresh_token_hash: sha256(refreshToken), refresh_token_issued_at: now, refresh_token_expires_at: expiresAt, previous_refresh_token_hash: null, previous_refresh_token_expires_at: null, revoked_at: null, granted_by: actor.userId };
      let id: string;
      if (existing) {
        id = existing.id;
        await trx.updateTable('grants').set((eb) => ({ ...fields, generation: eb('generation', '+', 1) })).where('id', '=', id).execute();
      } else {
        id = newId();
        await trx.insertInto('grants').values({ id, connector_id: connector.id, group_id: groupId, created_at: now, generation: 1, ...fields }).execute();
      }
      await recordAudit(trx, {
        ...byPerson(actor), orgId: group.org_id, action: existing ? 'grant.refresh_token_replaced' : 'grant.created', target: { type: 'grant', id },
        summary: `${connector.name} → group ${group.name}`, at: now,
      });
      return id;
    });
    return { grantId, refreshToken, expiresAt };
  }

  async listForGroup(actor: Actor, groupId: string): Promise<GrantView[]> {
    await this.orgs.authorizeGroup(actor, groupId, 'group.read');
    const rows = await this.deps.db.selectFrom('grants')
      .innerJoin('connectors', 'connectors.id', 'grants.connector_id')
      .innerJoin('organizations', 'organizations.id', 'connectors.org_id')
      .select(['grants.id', 'grants.connector_id', 'connectors.name as connector_name', 'organizations.name as connector_org_name',
        'connectors.permissions', 'grants.created_at', 'grants.refresh_token_expires_at'])
      .where('grants.group_id', '=', groupId).where('grants.revoked_at', 'is', null)
      .orderBy('grants.created_at').execute();
    return rows.map((r) => ({ ...r, permissions: JSON.parse(r.permissions) as string[] }));
  }

  async revoke(actor: Actor, groupId: string, grantId: string): Promise<{ connectorName: string }> {
    const group = await this.orgs.authorizeGroup(actor, groupId, 'group.manage');
    const now = this.deps.clock.now();
    return this.deps.db.transaction().execute(async (trx) => {
      const res = await trx.updateTable('grants')
        .set((eb) => ({ revoked_at: now, refresh_token_hash: null, previous_refresh_token_hash: null, generation: eb('generation', '+', 1) }))
        .where('id', '=', grantId).where('group_id', '=', groupId).where('revoked_at', 'is', null)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) throw notFound('Grant');
      const { name } = await trx.selectFrom('grants').innerJoin('connectors', 'connectors.id', 'grants.connector_id')
        .select('connectors.name').where('grants.id', '=', grantId).executeTakeFirstOrThrow();
      await recordAudit(trx, { ...byPerson(actor), orgId: group.org_id, action: 'grant.revoked', target: { type: 'grant', id: grantId }, summary: `${name} → group ${group.name}`, at: now });
      return { connectorName: name };
    });
  }
}
