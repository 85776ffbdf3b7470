// Connectors (apps): registered by an organisation's owners and admins, each with an ID, a secret
// shown once and stored as a hash, and the permissions it may use.
import type { Deps } from '../deps.js';
import { can, type Actor } from '../auth/policy.js';
import { ApiError, FieldChecks, invalid, notFound, requiredText } from '../lib/errors.js';
import { safeEqual, sha256 } from '../lib/hash.js';
import { newId, newSecret } from '../lib/ids.js';
import type { ConnectorsTable, Database } from '../db/schema.js';
import type { Kysely } from 'kysely';
import { byPerson, recordAudit } from '../audit/audit-log.js';
import { isPermission, type Permission } from './permissions.js';
import { parseClientMetadata, type GrantType } from '../oauth/client-metadata.js';
import { revokeFamiliesOfConnector } from '../oauth/queries.js';

export type Connector = Omit<ConnectorsTable, 'secret_hash' | 'permissions' | 'redirect_uris' | 'grant_types'>
  & { permissions: Permission[]; redirect_uris: string[]; grant_types: GrantType[]; org_name?: string };

export const SECRET_PREFIX = 'tcs';
export const CONNECTOR_NAME_MAX = 100;
export const CONNECTOR_DESCRIPTION_MAX = 1000;

function toConnector(row: ConnectorsTable & { org_name?: string }): Connector {
  const { secret_hash: _s, permissions, redirect_uris, grant_types, ...rest } = row;
  return { ...rest, permissions: JSON.parse(permissions) as Permission[], redirect_uris: JSON.parse(redirect_uris) as string[], grant_types: JSON.parse(grant_types) as GrantType[] };
}

export function parsePermissions(values: string[]): Permission[] {
  const out = new Set<Permission>();
  for (const v of values) {
    if (!isPermission(v)) throw invalid('permissions', `"${v}" is not a known permission`);
    out.add(v);
  }
  if (out.size === 0) throw invalid('permissions', 'choose at least one permission');
  return [...out];
}

/** The OAuth fields are optional: without them a connector is a confidential client with no redirect URI. */
export interface ConnectorInput { name: string; description?: string; permissions: string[]; clientType?: string; redirectUris?: string; grantTypes?: string[] }

export class ConnectorsService {
  constructor(private readonly deps: Deps) {}

  async create(actor: Actor, orgId: string, input: ConnectorInput): Promise<{ connector: Connector; secret: string }> {
    if (!actor.orgRoles.has(orgId)) throw notFound('Organisation');
    if (!can(actor, 'org.manage_connectors', { orgId })) throw new ApiError('forbidden', 'Only owners and admins of the organisation may register connectors');
    // The seed's developer registers with a verified phone number first.
    if (actor.phones.length === 0) throw new ApiError('phone_not_verified', 'Verify a phone number before registering a connector');
    // Every field is checked, so the form shows all its mistakes at once.
    const checks = new FieldChecks();
    const name = checks.check(() => requiredText(input.name, 'name', CONNECTOR_NAME_MAX));
    const description = (input.description ?? '').trim();
    if (description.length > CONNECTOR_DESCRIPTION_MAX) checks.check(() => { throw invalid('description', `must be at most ${CONNECTOR_DESCRIPTION_MAX} characters`); });
    const permissions = checks.check(() => parsePermissions(input.permissions));
    const oauth = checks.check(() => parseClientMetadata(input));
    checks.done();
    // Public OAuth clients have no secret (RFC 6749 §2.1): an empty hash matches no SHA-256.
    const secret = oauth!.clientType === 'public' ? '' : newSecret(SECRET_PREFIX);
    const now = this.deps.clock.now();
    const row: ConnectorsTable = {
      id: newId(), org_id: orgId, created_by: actor.userId, name: name!, description, permissions: JSON.stringify(permissions),
      secret_hash: secret ? sha256(secret) : '', secret_generation: 1, created_at: now, updated_at: now,
      redirect_uris: JSON.stringify(oauth!.redirectUris), client_type: oauth!.clientType, grant_types: JSON.stringify(oauth!.grantTypes), cc_generation: 1,
    };
    await this.deps.db.transaction().execute(async (trx) => {
      await trx.insertInto('connectors').values(row).execute();
      await this.audit(trx, actor, orgId, 'connector.created', row.id, `${row.name} (${JSON.parse(row.permissions).join(', ') || 'no permissions'})`);
    });
    return { connector: toConnector(row), secret };
  }

  /** Connectors of every organisation the person manages. */
  async listForActor(actor: Actor): Promise<Connector[]> {
    const orgIds = [...actor.orgRoles.keys()];
    if (!orgIds.length) return [];
    const rows = await this.deps.db.selectFrom('connectors').innerJoin('organizations', 'organizations.id', 'connectors.org_id')
      .selectAll('connectors').select('organizations.name as org_name')
      .where('connectors.org_id', 'in', orgIds).orderBy('connectors.created_at').execute();
    return rows.map(toConnector);
  }

  listForOrg(orgId: string): Promise<Connector[]> {
    return this.deps.db.selectFrom('connectors').selectAll().where('org_id', '=', orgId).orderBy('name').execute()
      .then((rows) => rows.map(toConnector));
  }

  /** Any connector by its ID: a group admin may grant a third party's connector. */
  async findById(id: string): Promise<Connector | undefined> {
    const row = await this.deps.db.selectFrom('connectors').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toConnector(row);
  }

  async getManaged(actor: Actor, id: string): Promise<Connector> {
    const row = await this.deps.db.selectFrom('connectors').innerJoin('organizations', 'organizations.id', 'connectors.org_id')
      .selectAll('connectors').select('organizations.name as org_name').where('connectors.id', '=', id).executeTakeFirst();
    if (!row || !actor.orgRoles.has(row.org_id)) throw notFound('Connector');
    if (!can(actor, 'org.manage_connectors', { orgId: row.org_id })) throw new ApiError('forbidden', 'Only owners and admins of the organisation may manage its connectors');
    return toConnector(row);
  }

  /**
   * Changes the OAuth settings under the rules of registration (parseClientMetadata, the one
   * place for them). A public client has no secret: switching to public drops it, switching to
   * confidential issues one, shown once. Either switch moves the secret generation (the token
   * service's access tokens stop) and revokes the connector's OAuth grants, whose refresh tokens
   * were issued under the other kind of client authentication. Removed redirect URIs and grant
   * types take effect on the next request (the authorization and token endpoints read them);
   * removing client_credentials also moves its generation, so the tokens it issued stay dead
   * if the grant type comes back.
   */
  async updateOAuth(actor: Actor, id: string, input: { clientType?: string; redirectUris?: string; grantTypes?: string[] }): Promise<{ connector: Connector; secret: string | undefined }> {
    const connector = await this.getManaged(actor, id);
    const oauth = parseClientMetadata(input);
    const switched = oauth.clientType !== connector.client_type;
    const ccRemoved = connector.grant_types.includes('client_credentials') && !oauth.grantTypes.includes('client_credentials');
    const secret = switched && oauth.clientType === 'confidential' ? newSecret(SECRET_PREFIX) : undefined;
    const now = this.deps.clock.now();
    await this.deps.db.transaction().execute(async (trx) => {
      await trx.updateTable('connectors').set((eb) => ({
        redirect_uris: JSON.stringify(oauth.redirectUris), grant_types: JSON.stringify(oauth.grantTypes), client_type: oauth.clientType, updated_at: now,
        ...(switched ? { secret_hash: secret ? sha256(secret) : '', secret_generation: eb('secret_generation', '+', 1) } : {}),
        ...(ccRemoved ? { cc_generation: eb('cc_generation', '+', 1) } : {}),
      })).where('id', '=', id).execute();
      if (switched) await revokeFamiliesOfConnector(trx, id, now, `client type changed to ${oauth.clientType}`);
      await this.audit(trx, actor, connector.org_id, 'connector.oauth_updated', id, `${connector.name}: ${oauth.clientType}, grant types ${oauth.grantTypes.join(', ')}, ${oauth.redirectUris.length} redirect URI(s)`);
    });
    return { connector: await this.getManaged(actor, id), secret };
  }

  /** A new secret; the old one and every access token issued under it stop working at once. */
  async rotateSecret(actor: Actor, id: string): Promise<string> {
    const connector = await this.getManaged(actor, id);
    if (connector.client_type === 'public') throw invalid('secret', 'a public client has no secret');
    const secret = newSecret(SECRET_PREFIX);
    await this.deps.db.transaction().execute(async (trx) => {
      await trx.updateTable('connectors').set((eb) => ({ secret_hash: sha256(secret), secret_generation: eb('secret_generation', '+', 1), updated_at: this.deps.clock.now() }))
        .where('id', '=', id).execute();
      await this.audit(trx, actor, connector.org_id, 'connector.secret_rotated', id, connector.name);
    });
    return secret;
  }

  async delete(actor: Actor, id: string): Promise<void> {
    const connector = await this.getManaged(actor, id);
    // A platform acts through its app: the platform must go (or change app) first.
    const platform = await this.deps.db.selectFrom('platforms').select('display_name').where('connector_id', '=', id).executeTakeFirst();
    if (platform) throw new ApiError('conflict', `This connector is the app of the platform ${platform.display_name}; give the platform another app or delete it first`);
    await this.deps.db.transaction().execute(async (trx) => {
      // Grants go with it (ON DELETE CASCADE), and with them every refresh and access token.
      await trx.deleteFrom('connectors').where('id', '=', id).execute();
      await this.audit(trx, actor, connector.org_id, 'connector.deleted', id, connector.name);
    });
  }

  /** Checks a connector's ID and secret in constant time; undefined when either is wrong. */
  async authenticate(id: string, secret: string): Promise<(Connector & { secret_generation: number }) | undefined> {
    const row = await this.deps.db.selectFrom('connectors').selectAll().where('id', '=', id).executeTakeFirst();
    const ok = safeEqual(sha256(secret), row?.secret_hash ?? sha256('no such connector'));
    return row && ok ? toConnector(row) : undefined;
  }

  private audit(trx: Kysely<Database>, actor: Actor, orgId: string, action: string, targetId: string, summary: string) {
    return recordAudit(trx, { ...byPerson(actor), orgId, action, target: { type: 'connector', id: targetId }, summary, at: this.deps.clock.now() });
  }
}
