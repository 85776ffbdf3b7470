// One upstream identity provider, spoken to as an OpenID Connect relying party with oauth4webapi
// (the protocol core openid-client is built on): discovery, fetched when first needed and kept
// for an hour; the authorization request with PKCE (S256), `state` and `nonce`; the code
// exchange; and the ID token checked — issuer, audience, expiry and nonce by oauth4webapi, the
// signature against the provider's JWKS by jose. What comes out is who the person is there.
//
// Entra ID's multi-tenant endpoints (`organizations`, `common`) publish the issuer as a template,
// `https://login.microsoftonline.com/{tenantid}/v2.0`: each token's `iss` must be that template
// filled with the token's own `tid`, as Microsoft's guidance says. openid-client does this only at
// the global cloud's origin; here it is done for any authority (national clouds, the tests).
import * as oauth from 'oauth4webapi';
import { createRemoteJWKSet, decodeJwt, jwtVerify, type JWTPayload } from 'jose';
import type { LoginProviderConfig } from './provider-config.js';

/** Who signed in, as the provider says. `subject` is the stable key: never the e-mail. */
export interface ExternalIdentity {
  providerId: string;
  subject: string;
  tenantId: string | undefined;
  email: string | undefined;
  /** Only when the provider vouches for the address (`email_verified`, Entra's `xms_edov`). */
  emailVerified: boolean;
  name: string | undefined;
  /** The provider asserted multi-factor authentication (`amr` holds `mfa`). */
  mfa: boolean;
}

/** Why a sign-in at the provider did not give an identity; `reason` goes to the audit log. */
export class UpstreamError extends Error {
  constructor(readonly kind: 'unreachable' | 'denied' | 'rejected' | 'tenant', readonly reason: string) {
    super(reason);
  }
}

const DISCOVERY_TTL_MS = 3600_000;
const REQUEST_TIMEOUT_MS = 10_000;
const TENANT_TEMPLATE = '{tenantid}';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface Discovered {
  as: oauth.AuthorizationServer;
  jwks: ReturnType<typeof createRemoteJWKSet>;
  at: number;
}

export class UpstreamProvider {
  private discovered: Discovered | undefined;
  private discovering: Promise<Discovered> | undefined;
  private readonly client: oauth.Client;
  private readonly auth: oauth.ClientAuth;
  /** http is allowed only for a loopback provider (provider-config.ts checked that). */
  private readonly insecure: boolean;

  constructor(readonly config: LoginProviderConfig, private readonly redirectUri: string) {
    this.client = { client_id: config.clientId };
    this.auth = oauth.ClientSecretPost(config.clientSecret);
    this.insecure = this.issuerUrl().protocol === 'http:';
  }

  get id(): string {
    return this.config.id;
  }

  get label(): string {
    return this.config.label;
  }

  /** Where discovery starts: the issuer, or for Entra the tenant's v2.0 endpoint. */
  private issuerUrl(): URL {
    const c = this.config;
    return new URL(c.type === 'entra' ? `${c.authority}/${c.tenant}/v2.0` : c.issuer);
  }

  /** The issuer the discovery document must name: Entra's multi-tenant endpoints name the template. */
  private expectedIssuer(): URL {
    const c = this.config;
    if (c.type !== 'entra') return new URL(c.issuer);
    return new URL(`${c.authority}/${/^[0-9a-f-]{36}$/.test(c.tenant) ? c.tenant : TENANT_TEMPLATE}/v2.0`);
  }

  private options<T extends object>(extra?: T): T & { signal: AbortSignal; [oauth.allowInsecureRequests]: boolean } {
    return { ...(extra ?? ({} as T)), signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS), [oauth.allowInsecureRequests]: this.insecure };
  }

  /** The provider's metadata, fetched once an hour at most; a provider that is down is `unreachable`. */
  private async metadata(now: number): Promise<Discovered> {
    if (this.discovered && now - this.discovered.at < DISCOVERY_TTL_MS) return this.discovered;
    this.discovering ??= (async () => {
      try {
        const response = await oauth.discoveryRequest(this.issuerUrl(), this.options({ algorithm: 'oidc' as const }));
        const as = await oauth.processDiscoveryResponse(this.expectedIssuer(), response);
        if (!as.authorization_endpoint || !as.token_endpoint || !as.jwks_uri) throw new Error('the discovery document lacks an authorization, token or jwks endpoint');
        const jwks = createRemoteJWKSet(new URL(as.jwks_uri), { timeoutDuration: REQUEST_TIMEOUT_MS });
        this.discovered = { as, jwks, at: now };
        return this.discovered;
      } catch (err) {
        throw new UpstreamError('unreachable', `discovery failed: ${describe(err)}`);
      } finally {
        this.discovering = undefined;
      }
    })();
    return this.discovering;
  }

  /** The URL that sends the person to the provider. */
  async authorizationUrl(state: string, nonce: string, codeVerifier: string, now: number, loginHint?: string): Promise<string> {
    const { as } = await this.metadata(now);
    const url = new URL(as.authorization_endpoint!);
    const scopes = this.config.type === 'entra' ? ['openid', 'profile', 'email'] : ['openid', ...this.config.scopes];
    url.search = new URLSearchParams({
      response_type: 'code', client_id: this.config.clientId, redirect_uri: this.redirectUri, scope: scopes.join(' '),
      state, nonce, code_challenge: await oauth.calculatePKCECodeChallenge(codeVerifier), code_challenge_method: 'S256',
      ...(loginHint ? { login_hint: loginHint } : {}),
    }).toString();
    return url.href;
  }

  /**
   * The callback's parameters → the person. `state` was matched by the caller (it found the
   * sign-in by it); it is checked again here as the library requires.
   */
  async complete(callback: URLSearchParams, state: string, nonce: string, codeVerifier: string, now: number): Promise<ExternalIdentity> {
    const { as, jwks } = await this.metadata(now);
    // RFC 9207: a multi-tenant endpoint that names itself in the response names the tenant's
    // issuer; it must fit the template here, and be the ID token's issuer below.
    const named = callback.get('iss') ?? undefined;
    const templated = as.issuer.includes(TENANT_TEMPLATE);
    if (templated && named !== undefined && !tenantOf(as.issuer, named)) throw new UpstreamError('rejected', `the response's issuer ${named} is not one of the provider's tenants`);
    let params: URLSearchParams;
    try {
      params = oauth.validateAuthResponse(templated && named ? { ...as, issuer: named } : as, this.client, callback, state);
    } catch (err) {
      if (err instanceof oauth.AuthorizationResponseError) {
        const kind = err.error === 'access_denied' ? 'denied' : 'rejected';
        throw new UpstreamError(kind, `the provider answered ${err.error}${err.error_description ? `: ${err.error_description}` : ''}`);
      }
      throw new UpstreamError('rejected', `the callback is not a valid authorization response: ${describe(err)}`);
    }
    let response: Response;
    try {
      response = await oauth.authorizationCodeGrantRequest(as, this.client, this.auth, params, this.redirectUri, codeVerifier, this.options());
    } catch (err) {
      throw new UpstreamError('unreachable', `the token request failed: ${describe(err)}`);
    }
    // A provider that fails (5xx) is down, not a client that sent something wrong.
    if (response.status >= 500) throw new UpstreamError('unreachable', `the token endpoint answered ${response.status}`);
    // Entra's multi-tenant issuer is the template filled with the token's own tenant.
    const issuerFor = await this.issuerFor(as, response);
    if (templated && named !== undefined && named !== issuerFor.issuer) throw new UpstreamError('rejected', `the ID token's tenant is not the one the response named (${named})`);
    let result: oauth.TokenEndpointResponse;
    try {
      result = await oauth.processAuthorizationCodeResponse({ ...as, issuer: issuerFor.issuer }, this.client, response, { expectedNonce: nonce, requireIdToken: true });
    } catch (err) {
      throw new UpstreamError('rejected', `the token response was refused: ${describe(err)}`);
    }
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(result.id_token!, jwks, {
        issuer: issuerFor.issuer, audience: this.config.clientId, algorithms: as.id_token_signing_alg_values_supported?.filter((a) => a !== 'none') ?? ['RS256'],
      }));
    } catch (err) {
      throw new UpstreamError('rejected', `the ID token's signature or claims were refused: ${describe(err)}`);
    }
    return this.identity(as, claims, result.access_token, issuerFor.tenant);
  }

  /** The issuer a token response's ID token must carry, and its tenant (Entra). */
  private async issuerFor(as: oauth.AuthorizationServer, response: Response): Promise<{ issuer: string; tenant: string | undefined }> {
    if (this.config.type !== 'entra') return { issuer: as.issuer, tenant: undefined };
    let tid: unknown;
    try {
      const body = (await response.clone().json()) as { id_token?: unknown };
      tid = typeof body.id_token === 'string' ? decodeJwt(body.id_token).tid : undefined;
    } catch {
      // The response is not a token response: processAuthorizationCodeResponse reports it.
      return { issuer: as.issuer, tenant: undefined };
    }
    if (typeof tid !== 'string' || !UUID.test(tid)) throw new UpstreamError('rejected', 'the ID token has no tenant (tid)');
    const allowed = this.config.allowedTenants;
    if (allowed && !allowed.includes(tid)) throw new UpstreamError('tenant', `tenant ${tid} is not among the allowed tenants`);
    return { issuer: as.issuer.replace(TENANT_TEMPLATE, tid), tenant: tid };
  }

  private async identity(as: oauth.AuthorizationServer, idToken: JWTPayload, accessToken: string, tenant: string | undefined): Promise<ExternalIdentity> {
    let claims: Record<string, unknown> = idToken;
    // Some providers keep the e-mail for the userinfo endpoint (OpenID Connect Core §5.4).
    if (typeof claims.email !== 'string' && as.userinfo_endpoint) {
      try {
        const response = await oauth.userInfoRequest(as, this.client, accessToken, this.options());
        claims = { ...(await oauth.processUserInfoResponse(as, this.client, idToken.sub!, response)), ...idToken };
      } catch {
        // The ID token alone still says who signed in; only the e-mail is missing.
      }
    }
    const str = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : undefined);
    const amr = Array.isArray(claims.amr) ? claims.amr : [];
    let subject = str(claims.sub)!;
    let email = str(claims.email);
    let emailVerified = claims.email_verified === true;
    if (this.config.type === 'entra') {
      // `sub` differs per application; (tid, oid) is the person in their organisation.
      const oid = str(claims.oid);
      if (!oid) throw new UpstreamError('rejected', 'the ID token has no object id (oid)');
      subject = `${tenant}/${oid}`;
      // Entra vouches for an address only through the optional claim xms_edov.
      email ??= str(claims.preferred_username)?.includes('@') ? str(claims.preferred_username) : undefined;
      emailVerified = claims.email_verified === true || claims.xms_edov === true;
    }
    return {
      providerId: this.config.id, subject, tenantId: tenant, email: email?.toLowerCase(), emailVerified,
      name: str(claims.name) ?? ([str(claims.given_name), str(claims.family_name)].filter(Boolean).join(' ') || undefined),
      mfa: amr.includes('mfa'),
    };
  }
}

/** The tenant an issuer is of, if it is the template filled with a tenant id. */
function tenantOf(template: string, issuer: string): string | undefined {
  const [before = '', after = ''] = template.split(TENANT_TEMPLATE);
  const tid = issuer.startsWith(before) && issuer.endsWith(after) ? issuer.slice(before.length, issuer.length - after.length) : '';
  return UUID.test(tid) ? tid : undefined;
}

function describe(err: unknown): string {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  return [e.message, e.cause?.code ?? e.cause?.message].filter(Boolean).join(': ') || String(err);
}
