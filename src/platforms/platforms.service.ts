// White-label platforms (the Zaikio seed): owners and admins of an organisation register one,
// with its technical name (the URL segment), look (name, logo, colour), support contact and its
// app (one of the organisation's connectors, the OAuth client of its white-label sign-in).
// Persons and organisations become its members (memberships.ts).
import type { Deps } from '../deps.js';
import { byPerson, recordAudit } from '../audit/audit-log.js';
import { isUniqueViolation } from '../deps.js';
import { can, type Actor } from '../auth/policy.js';
import { ApiError, FieldChecks, invalid, notFound, requiredText } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import { normaliseEmail } from '../accounts/accounts.service.js';
import { checkPlatformName } from './names.js';
import { checkLogo, checkLogoUrl } from './logo.js';
import { checkCallbackUrl } from '../webhooks/targets.js';
import { platformSigningSecret } from '../webhooks/crypto.js';
import { platformByApp, platformById, platformByName, platformLogo, platformsOfOrg, type PlatformRow } from './queries.js';

export const DISPLAY_NAME_MAX = 80;
export const SUPPORT_MAX = 254;
const COLOR = /^#[0-9a-f]{6}$/;

export interface PlatformInput {
  name: string;
  displayName: string;
  primaryColor: string;
  supportContact?: string | undefined;
  connectorId: string;
  logoUrl?: string | undefined;
  /** An uploaded image; replaces any logo. */
  logo?: Buffer | undefined;
  removeLogo?: boolean | undefined;
  /** Where membership events are delivered; empty for nowhere. */
  webhookUrl?: string | undefined;
}

export type Platform = PlatformRow;

/** An e-mail address or an https URL. */
function checkSupport(raw: string | undefined): string | null {
  const value = (raw ?? '').trim();
  if (!value) return null;
  if (value.length > SUPPORT_MAX) throw invalid('support_contact', `must be at most ${SUPPORT_MAX} characters`);
  if (/^https:\/\//.test(value)) {
    try {
      return new URL(value).toString();
    } catch { /* reported below */ }
  }
  try {
    return normaliseEmail(value);
  } catch {
    throw invalid('support_contact', 'must be an e-mail address or an https URL');
  }
}

export class PlatformsService {
  /** `webhookKey` derives each platform's event-signing secret (never stored). */
  constructor(private readonly deps: Deps, private readonly webhookKey: Buffer) {}

  /** The secret a platform's endpoint checks event signatures with. */
  eventSigningSecret(platform: Pick<Platform, 'id'>): string {
    return platformSigningSecret(this.webhookKey, platform.id);
  }

  /** A platform as the public sees it (white-label pages): by its technical name. */
  byName(name: string): Promise<Platform | undefined> {
    return platformByName(this.deps.db, name);
  }

  /** The uploaded logo of a platform, if it has one. */
  async logo(name: string): Promise<{ type: string; bytes: Buffer } | undefined> {
    const row = await platformLogo(this.deps.db, name);
    return row?.logo_data && row.logo_type ? { type: row.logo_type, bytes: Buffer.from(row.logo_data, 'base64') } : undefined;
  }

  /** A platform by id, without access checks (the caller checks what may be done with it). */
  byId(id: string): Promise<Platform | undefined> {
    return platformById(this.deps.db, id);
  }

  async listForOrg(actor: Actor, orgId: string): Promise<Platform[]> {
    if (!actor.orgRoles.has(orgId)) throw notFound('Organisation');
    return platformsOfOrg(this.deps.db, orgId);
  }

  /** A platform its organisation's members may see; managed ones also need owner or admin. */
  async get(actor: Actor, id: string, manage = false): Promise<Platform> {
    const p = await platformById(this.deps.db, id);
    if (!p || !actor.orgRoles.has(p.org_id)) throw notFound('Platform');
    if (manage && !can(actor, 'org.manage_platforms', { orgId: p.org_id })) throw new ApiError('forbidden', 'Only owners and admins of the organisation may manage its platforms');
    return p;
  }

  private async check(orgId: string, input: PlatformInput, keepName?: string) {
    const checks = new FieldChecks();
    const name = keepName ?? checks.check(() => checkPlatformName(input.name)) ?? '';
    const displayName = checks.check(() => requiredText(input.displayName, 'display_name', DISPLAY_NAME_MAX)) ?? '';
    const primaryColor = input.primaryColor.trim().toLowerCase();
    checks.check(() => {
      if (!COLOR.test(primaryColor)) throw invalid('primary_color', 'must be a colour as #rrggbb');
    });
    const supportContact = checks.check(() => checkSupport(input.supportContact)) ?? null;
    const logoUrl = checks.check(() => checkLogoUrl(input.logoUrl ?? '')) ?? null;
    const logoType = input.logo?.length ? checks.check(() => checkLogo(input.logo!)) : undefined;
    const rawHook = (input.webhookUrl ?? '').trim();
    let webhookUrl: string | null = null;
    if (rawHook) {
      try {
        webhookUrl = (await checkCallbackUrl(rawHook, this.deps.config.webhookAllowPrivateTargets, 'webhook_url')).toString();
      } catch (err) {
        checks.check(() => { throw err; });
      }
    }
    const connector = await this.deps.db.selectFrom('connectors').select(['id', 'org_id']).where('id', '=', input.connectorId).executeTakeFirst();
    checks.check(() => {
      if (!connector || connector.org_id !== orgId) throw invalid('connector_id', 'must be one of the organisation\'s connectors');
    });
    checks.done();
    return { name, displayName, primaryColor, supportContact, logoUrl, logoType, webhookUrl };
  }

  async create(actor: Actor, orgId: string, input: PlatformInput): Promise<Platform> {
    if (!actor.orgRoles.has(orgId)) throw notFound('Organisation');
    if (!can(actor, 'org.manage_platforms', { orgId })) throw new ApiError('forbidden', 'Only owners and admins of the organisation may register platforms');
    const v = await this.check(orgId, input);
    const now = this.deps.clock.now();
    const id = newId();
    try {
      await this.deps.db.transaction().execute(async (trx) => {
        await trx.insertInto('platforms').values({
          id, org_id: orgId, name: v.name, display_name: v.displayName, connector_id: input.connectorId, primary_color: v.primaryColor,
          support_contact: v.supportContact, webhook_url: v.webhookUrl, logo_url: v.logoType ? null : v.logoUrl, logo_type: v.logoType ?? null,
          logo_data: v.logoType ? input.logo!.toString('base64') : null, created_at: now, updated_at: now,
        }).execute();
        await recordAudit(trx, { ...byPerson(actor), orgId, action: 'platform.created', target: { type: 'platform', id }, summary: `${v.name} (${v.displayName})`, at: now });
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw await this.taken(v.name, input.connectorId);
      throw err;
    }
    return (await platformById(this.deps.db, id))!;
  }

  /** Which unique value a failed insert or update collided with. */
  private async taken(name: string, connectorId: string): Promise<ApiError> {
    const app = await platformByApp(this.deps.db, connectorId);
    if (app && app.name !== name) return new ApiError('conflict', `connector_id: this connector is already the app of the platform ${app.display_name}`, { field: 'connector_id' });
    return new ApiError('conflict', 'name: another platform already uses this name', { field: 'name' });
  }

  /** Everything but the technical name, which links already use, can change. */
  async update(actor: Actor, id: string, input: PlatformInput): Promise<Platform> {
    const p = await this.get(actor, id, true);
    const v = await this.check(p.org_id, input, p.name);
    const logo = v.logoType
      ? { logo_url: null, logo_type: v.logoType, logo_data: input.logo!.toString('base64') }
      : v.logoUrl ? { logo_url: v.logoUrl, logo_type: null, logo_data: null }
        : input.removeLogo ? { logo_url: null, logo_type: null, logo_data: null } : {};
    try {
      await this.deps.db.transaction().execute(async (trx) => {
        await trx.updateTable('platforms').set({
          display_name: v.displayName, primary_color: v.primaryColor, support_contact: v.supportContact, webhook_url: v.webhookUrl, connector_id: input.connectorId, ...logo,
          updated_at: this.deps.clock.now(),
        }).where('id', '=', id).execute();
        await recordAudit(trx, { ...byPerson(actor), orgId: p.org_id, action: 'platform.updated', target: { type: 'platform', id }, summary: `${p.name} (${v.displayName})`, at: this.deps.clock.now() });
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw await this.taken(p.name, input.connectorId);
      throw err;
    }
    return (await platformById(this.deps.db, id))!;
  }

  /** Memberships go with it (ON DELETE CASCADE); the app and its grants stay. */
  async delete(actor: Actor, id: string): Promise<Platform> {
    const p = await this.get(actor, id, true);
    await this.deps.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('platforms').where('id', '=', id).execute();
      await recordAudit(trx, { ...byPerson(actor), orgId: p.org_id, action: 'platform.deleted', target: { type: 'platform', id }, summary: `${p.name} (${p.display_name})`, at: this.deps.clock.now() });
    });
    return p;
  }

  /** The platform whose app this connector is, if any. */
  ofApp(connectorId: string): Promise<Platform | undefined> {
    return platformByApp(this.deps.db, connectorId);
  }
}
