// What a connector needs to be an OAuth client, validated at registration: client type,
// redirect URIs, grant types.
import { invalid } from '../lib/errors.js';

export const GRANT_TYPES = ['authorization_code', 'refresh_token', 'client_credentials'] as const;
export type GrantType = typeof GRANT_TYPES[number];
export type ClientType = 'confidential' | 'public';

export interface ClientMetadata { clientType: ClientType; redirectUris: string[]; grantTypes: GrantType[] }

const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost']);

/**
 * RFC 6749 §3.1.2: absolute, no fragment. RFC 9700 §2.1 and RFC 8252: https, http only on a
 * loopback address, or a private-use scheme in reverse-domain form for native apps.
 */
export function checkRedirectUri(value: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw invalid('redirectUris', `"${value}" is not an absolute URI`);
  }
  if (u.hash || value.includes('#')) throw invalid('redirectUris', `"${value}" must not contain a fragment`);
  const scheme = u.protocol.slice(0, -1);
  const ok = scheme === 'https' || (scheme === 'http' && LOOPBACK.has(u.hostname)) || (/^[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+$/.test(scheme));
  if (!ok) throw invalid('redirectUris', `"${value}" must use https (http only for loopback addresses)`);
  return value;
}

export function parseClientMetadata(input: { clientType?: string; redirectUris?: string; grantTypes?: string[] }): ClientMetadata {
  const clientType = (input.clientType ?? 'confidential') as ClientType;
  if (clientType !== 'confidential' && clientType !== 'public') throw invalid('clientType', 'must be confidential or public');
  const redirectUris = [...new Set((input.redirectUris ?? '').split(/\s+/).filter(Boolean).map(checkRedirectUri))];
  if (redirectUris.length > 20) throw invalid('redirectUris', 'at most 20');
  // No choice in the form means every grant the client type allows.
  const requested = input.grantTypes?.length ? input.grantTypes : [...GRANT_TYPES];
  const grantTypes: GrantType[] = [];
  for (const g of requested) {
    if (!(GRANT_TYPES as readonly string[]).includes(g)) throw invalid('grantTypes', `"${g}" is not a supported grant type`);
    // RFC 6749 §4.4: client credentials only for confidential clients.
    if (g === 'client_credentials' && clientType === 'public') {
      if (input.grantTypes?.length) throw invalid('grantTypes', 'public clients cannot use client_credentials');
      continue;
    }
    if (!grantTypes.includes(g as GrantType)) grantTypes.push(g as GrantType);
  }
  return { clientType, redirectUris, grantTypes };
}
