// Scopes. A connector may ask for its permissions (connectors/permissions.ts) and the OpenID
// Connect scopes. Following the Zaikio grammar (shared/reference/zaikio.md) a permission may be
// prefixed with its bearer: `Org/<uuid>.groupinfo.read` targets one organisation,
// `Per/<uuid>.` or no prefix means the person. Scopes are separated by spaces (RFC 6749 §3.3) or
// commas (Zaikio).
import type { OrgRole } from '../db/schema.js';
import { AccessDenied, InvalidScope } from './errors.js';

export const OIDC_SCOPES = ['openid', 'profile', 'email', 'phone', 'offline_access'] as const;
const OIDC = new Set<string>(OIDC_SCOPES);
const BEARER = /^(Org|Per)(?:\/([a-z0-9-]{1,64}))?\.(.+)$/;

export interface ParsedScope {
  raw: string;
  /** The permission or OpenID scope without a bearer prefix. */
  base: string;
  bearer?: { type: 'Org' | 'Per'; id?: string };
}

export function splitScope(raw: string | undefined): string[] {
  return [...new Set((raw ?? '').split(/[\s,]+/).filter(Boolean))];
}

/** Parses and checks every scope against what the connector may request (invalid_scope otherwise). */
export function parseScopes(raw: string[], permissions: readonly string[]): ParsedScope[] {
  const allowed = new Set(permissions);
  return raw.map((s) => {
    if (OIDC.has(s)) return { raw: s, base: s };
    const m = BEARER.exec(s);
    const base = m ? m[3]! : s;
    if (!allowed.has(base)) throw new InvalidScope(`the scope "${s}" is not one this client may request`);
    return m ? { raw: s, base, bearer: { type: m[1] as 'Org' | 'Per', ...(m[2] ? { id: m[2] } : {}) } } : { raw: s, base };
  });
}

/**
 * A person may grant organisation-targeted scopes only for organisations where they are an owner
 * or admin, and person-targeted scopes only for themselves.
 */
export function checkPersonMayGrant(scopes: ParsedScope[], userId: string, orgRoles: Map<string, OrgRole>): void {
  for (const s of scopes) {
    if (!s.bearer) continue;
    if (s.bearer.type === 'Per') {
      if (s.bearer.id && s.bearer.id !== userId) throw new AccessDenied(`the scope "${s.raw}" names another person`);
      continue;
    }
    if (!s.bearer.id) throw new InvalidScope(`the scope "${s.raw}" must name the organisation (Org/<uuid>.)`);
    const role = orgRoles.get(s.bearer.id);
    if (role !== 'owner' && role !== 'admin') throw new AccessDenied(`only an owner or admin of the organisation may grant "${s.raw}"`);
  }
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
