// LOGIN_PROVIDERS: the upstream identity providers people may sign in with, a JSON list read and
// checked once at start by config.ts. A bad entry stops Tessera with a message naming it, rather
// than a button that fails at the first person to press it.

/** Microsoft Entra ID (Office 365): the v2.0 endpoints of a tenant, `organizations` or `common`. */
export interface EntraProviderConfig {
  readonly id: string;
  readonly type: 'entra';
  readonly label: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** `organizations`, `common`, or one tenant's id. */
  readonly tenant: string;
  /** The tenants whose accounts may sign in; every tenant the endpoint admits when absent. */
  readonly allowedTenants: readonly string[] | undefined;
  /** The cloud's sign-in host: https://login.microsoftonline.com unless a national cloud's. */
  readonly authority: string;
}

/** Any OpenID Connect provider, found through its issuer's discovery document. */
export interface OidcProviderConfig {
  readonly id: string;
  readonly type: 'oidc';
  readonly label: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly issuer: string;
  /** Asked for besides `openid`: `email profile` unless given. */
  readonly scopes: readonly string[];
}

export type LoginProviderConfig = EntraProviderConfig | OidcProviderConfig;

export const ENTRA_AUTHORITY = 'https://login.microsoftonline.com';
const ID = /^[a-z0-9][a-z0-9_-]{0,31}$/;
// Path words after /login/ that are Tessera's own pages, not providers.
const RESERVED_IDS = new Set(['code', 'link']);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MULTI_TENANT = new Set(['organizations', 'common']);
const KEYS = {
  entra: new Set(['id', 'type', 'label', 'clientId', 'clientSecret', 'tenant', 'allowedTenants', 'authority']),
  oidc: new Set(['id', 'type', 'label', 'clientId', 'clientSecret', 'issuer', 'scopes']),
};

export class ProviderConfigError extends Error {}

/**
 * An https URL, or http on a loopback address (a provider on the same machine, as in
 * development and the tests); never with a query or fragment, which issuers do not have.
 */
function providerUrl(raw: unknown, name: string): string {
  if (typeof raw !== 'string') throw new ProviderConfigError(`${name} must be a URL`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ProviderConfigError(`${name} must be a URL, got "${raw}"`);
  }
  const loopback = ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) throw new ProviderConfigError(`${name} must be an https URL (http only on a loopback address), got "${raw}"`);
  if (url.search || url.hash) throw new ProviderConfigError(`${name} must not have a query or fragment`);
  return raw.replace(/\/+$/, '');
}

function text(entry: Record<string, unknown>, key: string, max: number): string {
  const v = entry[key];
  if (typeof v !== 'string' || !v.trim()) throw new ProviderConfigError(`${key} is required (a non-empty string)`);
  if (v.length > max) throw new ProviderConfigError(`${key} must be at most ${max} characters`);
  return v.trim();
}

function parseEntry(entry: unknown): LoginProviderConfig {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw new ProviderConfigError('must be an object');
  const e = entry as Record<string, unknown>;
  const id = text(e, 'id', 32);
  if (!ID.test(id) || RESERVED_IDS.has(id)) throw new ProviderConfigError(`id must be 1-32 of a-z 0-9 - _ (and not ${[...RESERVED_IDS].join(' or ')}), got "${id}"`);
  if (e.type !== 'entra' && e.type !== 'oidc') throw new ProviderConfigError('type must be "entra" or "oidc"');
  const unknown = Object.keys(e).filter((k) => !KEYS[e.type as 'entra' | 'oidc'].has(k));
  if (unknown.length) throw new ProviderConfigError(`${unknown.map((k) => `"${k}"`).join(', ')} ${unknown.length > 1 ? 'are' : 'is'} not a setting of a ${e.type} provider`);
  const common = { id, label: text(e, 'label', 60), clientId: text(e, 'clientId', 255), clientSecret: text(e, 'clientSecret', 1000) };
  if (e.type === 'entra') {
    const tenant = text(e, 'tenant', 64).toLowerCase();
    if (!MULTI_TENANT.has(tenant) && !UUID.test(tenant)) throw new ProviderConfigError(`tenant must be "organizations", "common" or a tenant ID (a UUID), got "${tenant}"`);
    let allowedTenants: string[] | undefined;
    if (e.allowedTenants !== undefined) {
      if (!Array.isArray(e.allowedTenants) || !e.allowedTenants.length) throw new ProviderConfigError('allowedTenants must be a non-empty list of tenant IDs');
      allowedTenants = e.allowedTenants.map((t) => {
        if (typeof t !== 'string' || !UUID.test(t.toLowerCase())) throw new ProviderConfigError(`allowedTenants must hold tenant IDs (UUIDs), got ${JSON.stringify(t)}`);
        return t.toLowerCase();
      });
      if (UUID.test(tenant) && !allowedTenants.includes(tenant)) throw new ProviderConfigError(`allowedTenants leaves out the provider's own tenant ${tenant}`);
    }
    const authority = e.authority === undefined ? ENTRA_AUTHORITY : providerUrl(e.authority, 'authority');
    return { ...common, type: 'entra', tenant, allowedTenants, authority };
  }
  let scopes = ['email', 'profile'];
  if (e.scopes !== undefined) {
    if (!Array.isArray(e.scopes) || e.scopes.some((s) => typeof s !== 'string' || !/^[\x21\x23-\x5b\x5d-\x7e]+$/.test(s))) {
      throw new ProviderConfigError('scopes must be a list of scope names (printable, without spaces or quotes)');
    }
    scopes = (e.scopes as string[]).filter((s) => s !== 'openid');
  }
  return { ...common, type: 'oidc', issuer: providerUrl(e.issuer, 'issuer'), scopes };
}

/** LOGIN_PROVIDERS as a list of providers, or a ProviderConfigError naming the entry at fault. */
export function parseLoginProviders(raw: string | undefined): LoginProviderConfig[] {
  if (raw === undefined || raw.trim() === '') return [];
  let list: unknown;
  try {
    list = JSON.parse(raw);
  } catch (err) {
    throw new ProviderConfigError(`LOGIN_PROVIDERS is not JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(list)) throw new ProviderConfigError('LOGIN_PROVIDERS must be a JSON list of providers');
  const seen = new Set<string>();
  return list.map((entry, i) => {
    const name = typeof (entry as { id?: unknown })?.id === 'string' ? `LOGIN_PROVIDERS[${i}] ("${(entry as { id: string }).id}")` : `LOGIN_PROVIDERS[${i}]`;
    let provider: LoginProviderConfig;
    try {
      provider = parseEntry(entry);
    } catch (err) {
      if (err instanceof ProviderConfigError) throw new ProviderConfigError(`${name}: ${err.message}`);
      throw err;
    }
    if (seen.has(provider.id)) throw new ProviderConfigError(`${name}: another provider has the id "${provider.id}"`);
    seen.add(provider.id);
    return Object.freeze(provider);
  });
}
