// Scopes. A connector may ask for its permissions (connectors/permissions.ts) and the OpenID
// Connect scopes, in two spellings:
// - a permission name, `groupinfo.read`, optionally prefixed with its bearer (`Org/<uuid>.` targets
//   one organisation, `Per/<uuid>.` or no prefix means the person);
// - Zaikio's grammar (shared/reference/zaikio.md), `[Org|Per[/uuid].]tessera.SCOPE.(r|w|rw)`,
//   where SCOPE is a permission family (groupinfo, groupmember, textmessage, webhook): `r` stands
//   for its read permission, `w` for every other one of the family (write, and remove for
//   groupmember), `rw` for all of them. A scope is granted whole or not at all: the connector
//   must hold every permission it stands for.
// Scopes are separated by spaces (RFC 6749 §3.3) or commas (Zaikio).
import type { OrgRole } from '../db/schema.js';
import { can } from '../auth/policy.js';
import { PERMISSION_NAMES, type Permission } from '../connectors/permissions.js';
import { AccessDenied, InvalidScope } from './errors.js';

export const OIDC_SCOPES = ['openid', 'profile', 'email', 'phone', 'offline_access'] as const;
const OIDC = new Set<string>(OIDC_SCOPES);
const BEARER = /^(Org|Per)(?:\/([a-z0-9-]{1,64}))?\.(.+)$/;
/** Zaikio's scope grammar, as published; APP.SCOPE.PERM after an optional bearer. */
const ZAIKIO = /^(?:(Org|Per)(?:\/([a-z0-9-]+))?\.)?([a-z][a-z0-9_]{2,})\.([a-z][a-z_]{2,})\.(rw|r|w)$/;

/** Tessera's technical app name in Zaikio-style scopes (`tessera.groupinfo.r`). */
export const APP_NAME = 'tessera';

/** Permission family → what `r` and `w` stand for, derived from the permission list. */
const FAMILIES = new Map<string, { r: Permission[]; w: Permission[] }>();
for (const p of PERMISSION_NAMES) {
  const [family, action] = p.split('.') as [string, string];
  const f = FAMILIES.get(family) ?? { r: [], w: [] };
  (action === 'read' ? f.r : f.w).push(p);
  FAMILIES.set(family, f);
}

/**
 * The directory's scopes (`directory.SCOPE.PERM`, Zaikio's own app name): what they let a token
 * do is decided by the /api/v1 routes (zaikio/, platforms/). Who may ask for which is decided
 * where the request is made: any client may ask a person for `person` and `organization`;
 * `platform_membership` only through a platform's white-label URL; `platform` only by a platform
 * owner's private access token or its platform app's client credentials.
 */
export const DIRECTORY_APP = 'directory';
export type DirectoryFamily = 'person' | 'organization' | 'platform_membership' | 'platform' | 'audit_log';
export const DIRECTORY_FAMILIES: readonly DirectoryFamily[] = ['person', 'organization', 'platform_membership', 'platform', 'audit_log'];
/** What any client may ask a person for. */
export const OPEN_DIRECTORY: ReadonlySet<DirectoryFamily> = new Set(['person', 'organization']);
/** What a platform's own authorization URL may ask a person for. */
export const PLATFORM_DIRECTORY: ReadonlySet<DirectoryFamily> = new Set(['person', 'organization', 'platform_membership']);
/** Every family: for scopes that were checked when they were granted (a code, a refresh). */
export const ANY_DIRECTORY: ReadonlySet<DirectoryFamily> = new Set(DIRECTORY_FAMILIES);

/** Every Zaikio-style scope Tessera understands (for discovery). */
export const ZAIKIO_SCOPES = [...FAMILIES.entries()].flatMap(([family, f]) =>
  [...(f.r.length ? ['r'] : []), ...(f.w.length ? ['w'] : []), ...(f.r.length && f.w.length ? ['rw'] : [])].map((perm) => `${APP_NAME}.${family}.${perm}`));

export interface ParsedScope {
  raw: string;
  /** The scope without its bearer prefix: an OpenID scope, a permission, or `tessera.SCOPE.PERM`. */
  base: string;
  /** The connector permissions it stands for (none for OpenID scopes). */
  permissions: Permission[];
  bearer?: { type: 'Org' | 'Per'; id?: string };
}

export function splitScope(raw: string | undefined): string[] {
  return [...new Set((raw ?? '').split(/[\s,]+/).filter(Boolean))];
}

const bearerOf = (type: string | undefined, id: string | undefined): Pick<ParsedScope, 'bearer'> =>
  (type ? { bearer: { type: type as 'Org' | 'Per', ...(id ? { id } : {}) } } : {});

/**
 * Parses and checks every scope against what the connector may request (invalid_scope otherwise);
 * `directory` says which directory families this request may ask for.
 */
export function parseScopes(raw: string[], permissions: readonly string[], directory: ReadonlySet<DirectoryFamily> = OPEN_DIRECTORY): ParsedScope[] {
  const allowed = new Set(permissions);
  const refuse = (s: string, why = '') => new InvalidScope(`the scope "${s}" is not one this client may request${why}`);
  return raw.map((s) => {
    if (OIDC.has(s)) return { raw: s, base: s, permissions: [] };
    const z = ZAIKIO.exec(s);
    if (z) {
      const [, type, id, app, family, perm] = z as unknown as [string, string | undefined, string | undefined, string, string, 'r' | 'w' | 'rw'];
      if (app === DIRECTORY_APP) {
        if (!DIRECTORY_FAMILIES.includes(family as DirectoryFamily)) throw refuse(s);
        if (!directory.has(family as DirectoryFamily)) throw refuse(s, DIRECTORY_WHERE[family as DirectoryFamily]);
        return { raw: s, base: `${app}.${family}.${perm}`, permissions: [], ...bearerOf(type, id) };
      }
      const f = FAMILIES.get(family);
      if (app !== APP_NAME || !f) throw refuse(s);
      const stands = [...(perm.includes('r') ? f.r : []), ...(perm.includes('w') ? f.w : [])];
      if (!stands.length) throw refuse(s);
      if (!stands.every((p) => allowed.has(p))) throw refuse(s, ` (it stands for ${stands.join(' and ')})`);
      return { raw: s, base: `${app}.${family}.${perm}`, permissions: stands, ...bearerOf(type, id) };
    }
    const m = BEARER.exec(s);
    const base = m ? m[3]! : s;
    if (!allowed.has(base)) throw refuse(s);
    return { raw: s, base, permissions: [base as Permission], ...bearerOf(m?.[1], m?.[2]) };
  });
}

const DIRECTORY_WHERE: Record<DirectoryFamily, string> = {
  person: '', organization: '',
  platform_membership: ' (only through a platform\'s own /{platform}/oauth/authorize)',
  platform: ' (only a platform owner\'s private access token or its platform app\'s client credentials)',
  audit_log: ' (only an organisation owner\'s private access token)',
};

/**
 * Whether a granted scope string allows `directory.FAMILY.(r|w)` for the token's bearer (Zaikio:
 * `r` allows reads, `w` writes, `rw` both). A scope without a prefix counts for the token's
 * bearer; `Per[/uuid].` only for a person bearer, `Org[/uuid].` only for an organisation one.
 */
export function allowsDirectory(scope: string, family: DirectoryFamily, need: 'r' | 'w', bearer: { type: 'Person' | 'Organization'; id: string }): boolean {
  return splitScope(scope).some((s) => {
    const z = ZAIKIO.exec(s);
    if (!z || z[3] !== DIRECTORY_APP || z[4] !== family || !z[5]!.includes(need)) return false;
    // No prefix: the token's own bearer. A prefix must name the bearer's kind (and it, if it has an id).
    const [type, id] = [z[1], z[2]];
    if (type === undefined) return true;
    return type === (bearer.type === 'Person' ? 'Per' : 'Org') && (id === undefined || id === bearer.id);
  });
}

/** The organisations a granted scope string targets (`Org/<uuid>.…`). */
export function targetedOrgs(scope: string): string[] {
  return [...new Set(splitScope(scope).flatMap((s) => {
    const m = /^Org\/([a-z0-9-]+)\./.exec(s);
    return m ? [m[1]!] : [];
  }))];
}

/**
 * A person may grant organisation-targeted scopes only for organisations where they are an owner
 * or admin, and person-targeted scopes only for themselves.
 */
export function checkPersonMayGrant(scopes: ParsedScope[], userId: string, orgRoles: Map<string, OrgRole>, needsSecondFactor: ReadonlySet<string> = new Set()): void {
  const actor = { userId, phones: [], orgRoles };
  for (const s of scopes) {
    if (!s.bearer) continue;
    if (s.bearer.type === 'Per') {
      if (s.bearer.id && s.bearer.id !== userId) throw new AccessDenied(`the scope "${s.raw}" names another person`);
      continue;
    }
    if (!s.bearer.id) throw new InvalidScope(`the scope "${s.raw}" must name the organisation (Org/<uuid>.)`);
    if (needsSecondFactor.has(s.bearer.id)) throw new AccessDenied(`the organisation requires two-factor authentication, which the person has not turned on ("${s.raw}")`);
    // Making the organisation a platform member is for its owners alone (policy: org.join_platform).
    if (s.base.startsWith(`${DIRECTORY_APP}.platform_membership.`)) {
      if (!can(actor, 'org.join_platform', { orgId: s.bearer.id })) throw new AccessDenied(`only an owner of the organisation may make it a member of the platform ("${s.raw}")`);
      continue;
    }
    if (!can(actor, 'org.grant_app_access', { orgId: s.bearer.id })) throw new AccessDenied(`only an owner or admin of the organisation may grant "${s.raw}"`);
  }
}

/** Whether the person may still grant access to these organisations (a refresh re-checks it). */
export function personMayKeep(orgIds: string[], userId: string, orgRoles: Map<string, OrgRole>): boolean {
  const actor = { userId, phones: [], orgRoles };
  return orgIds.every((orgId) => can(actor, 'org.grant_app_access', { orgId }));
}

/** Client credentials act for the connector's own organisation (Zaikio: scopes carry `Org/<uuid>.`). */
export function checkClientCredentialsScopes(scopes: ParsedScope[], orgId: string): void {
  for (const s of scopes) {
    if (OIDC.has(s.base)) throw new InvalidScope(`the scope "${s.raw}" needs a person; client credentials have none`);
    if (s.bearer?.type !== 'Org' || s.bearer.id !== orgId) {
      throw new InvalidScope(`client credentials scopes must target the client's organisation: Org/${orgId}.${s.base}`);
    }
  }
}

export const hasScope = (scope: string, wanted: string): boolean => splitScope(scope).includes(wanted);
