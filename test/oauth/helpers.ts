// Shared set-up for the OAuth suites: a developer who registers OAuth connectors through the
// portal, people who log in, and a small browser (fetch with a cookie jar, no automatic redirects)
// that drives the real HTML pages over a real socket.
import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { PortalClient } from '../helpers/portal.js';

export const REDIRECT = 'https://rp.example/callback';
export const SCOPES = ['groupinfo.read', 'textmessage.read', 'textmessage.write'];

export interface OAuthClientReg { id: string; secret: string }

/** A developer with a verified phone and an organisation, who registers connectors as OAuth clients. */
export async function developer(app: FastifyInstance, email = 'dev@example.com', phone = '+14155550123') {
  const dev = new PortalClient(app);
  await dev.signup(email, 'Dev Eloper');
  await dev.verifyPhone(phone);
  const orgId = await dev.createOrg('Contoso');
  const register = async (name: string, opts: { type?: 'confidential' | 'public'; redirectUris?: string[]; grantTypes?: string[]; permissions?: string[] } = {}): Promise<OAuthClientReg> => {
    await dev.get('/connectors/new');
    const res = await dev.post('/connectors', {
      orgId, name, description: `${name} description`, permissions: opts.permissions ?? SCOPES,
      clientType: opts.type ?? 'confidential', redirectUris: (opts.redirectUris ?? [REDIRECT]).join('\n'), ...(opts.grantTypes ? { grantTypes: opts.grantTypes } : {}),
    });
    const page = await dev.follow(res);
    return { id: /id="connector-id">([^<]+)</.exec(page.body)![1]!, secret: /id="connector-secret">([^<]+)</.exec(page.body)?.[1] ?? '' };
  };
  return { dev, orgId, register };
}

/** A browser over fetch: keeps cookies, reads the CSRF token of the last page, never follows redirects itself. */
export class Browser {
  private cookies = new Map<string, string>();
  csrf = '';
  constructor(readonly base: string) {}

  private remember(res: Response): void {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      const name = pair!.slice(0, i);
      const value = pair!.slice(i + 1);
      if (!value || /max-age=0/i.test(c) || /expires=Thu, 01 Jan 1970/i.test(c)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  private header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async get(url: string): Promise<{ status: number; location: string | null; body: string; headers: Headers }> {
    const res = await fetch(new URL(url, this.base), { redirect: 'manual', headers: { cookie: this.header() } });
    this.remember(res);
    const body = await res.text();
    const m = /name="_csrf" value="([^"]+)"/.exec(body);
    if (m) this.csrf = m[1]!;
    return { status: res.status, location: res.headers.get('location'), body, headers: res.headers };
  }

  async post(url: string, form: Record<string, string>, csrf: string | null = this.csrf): Promise<{ status: number; location: string | null; body: string; headers: Headers }> {
    const params = new URLSearchParams(form);
    if (csrf !== null) params.set('_csrf', csrf);
    const res = await fetch(new URL(url, this.base), {
      method: 'POST', redirect: 'manual', body: params.toString(),
      headers: { cookie: this.header(), 'content-type': 'application/x-www-form-urlencoded', origin: this.base },
    });
    this.remember(res);
    const body = await res.text();
    const m = /name="_csrf" value="([^"]+)"/.exec(body);
    if (m) this.csrf = m[1]!;
    return { status: res.status, location: res.headers.get('location'), body, headers: res.headers };
  }

  /** The hidden fields of the consent form, as the page rendered them. */
  static consentFields(body: string): Record<string, string> {
    const form = /<form method="post" action="\/oauth\/consent">([\s\S]*?)<\/form>/.exec(body)?.[1] ?? '';
    const out: Record<string, string> = {};
    for (const m of form.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
      out[m[1]!] = m[2]!.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');
    }
    delete out._csrf;
    return out;
  }

  /** Follows same-origin redirects until one leaves Tessera (the client's redirect URI) or a page answers. */
  async follow(url: string): Promise<{ status: number; location: string | null; body: string }> {
    let res = await this.get(url);
    while (res.location && new URL(res.location, this.base).origin === new URL(this.base).origin) res = await this.get(res.location);
    return res;
  }

  /** The whole person-facing part: authorize → log in → consent (allow) → the redirect to the client. */
  async authorize(authorizationUrl: string, login: { email: string; password: string }, decision: 'allow' | 'deny' = 'allow'): Promise<URL> {
    let res = await this.follow(authorizationUrl);
    if (/action="\/login"/.test(res.body)) {
      const next = /name="next" value="([^"]*)"/.exec(res.body)![1]!.replace(/&amp;/g, '&');
      const posted = await this.post('/login', { email: login.email, password: login.password, next });
      if (posted.status !== 303) throw new Error(`log-in failed: ${posted.status}`);
      res = await this.follow(posted.location!);
    }
    if (/action="\/oauth\/consent"/.test(res.body)) {
      const posted = await this.post('/oauth/consent', { ...Browser.consentFields(res.body), decision });
      if (posted.status !== 303) throw new Error(`consent failed: ${posted.status} ${posted.body.slice(0, 300)}`);
      return new URL(posted.location!);
    }
    if (!res.location) throw new Error(`expected a redirect to the client, got ${res.status}: ${res.body.slice(0, 400)}`);
    return new URL(res.location);
  }
}

// ---- over app.inject(), for the suites that check exact answers ----

export const form = (values: Record<string, string>): string => new URLSearchParams(values).toString();

export const basic = (id: string, secret: string): string =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

export async function tokenRequest(app: FastifyInstance, values: Record<string, string>, headers: Record<string, string> = {}, path = '/oauth/token') {
  return app.inject({ method: 'POST', url: path, payload: form(values), headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } });
}

export function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export const authorizePath = (params: Record<string, string>): string => `/oauth/authorize?${new URLSearchParams(params).toString()}`;

/** GET /oauth/authorize as a logged-in person; on the consent page, answer it. Returns the Location header. */
export async function authorizeAs(p: PortalClient, params: Record<string, string>, decision: 'allow' | 'deny' = 'allow'): Promise<string> {
  const res = await p.get(authorizePath(params));
  if (res.statusCode === 200 && res.body.includes('action="/oauth/consent"')) {
    const posted = await p.post('/oauth/consent', { ...Browser.consentFields(res.body), decision });
    if (posted.statusCode !== 303) throw new Error(`consent answered ${posted.statusCode}: ${posted.body.slice(0, 400)}`);
    return posted.headers.location as string;
  }
  if (res.statusCode !== 303) throw new Error(`authorize answered ${res.statusCode}: ${res.body.slice(0, 400)}`);
  return res.headers.location as string;
}

/** The query of a redirect back to the client, as a plain object. */
export const query = (location: string): Record<string, string> => Object.fromEntries(new URL(location).searchParams);

/** A code for the confidential client with PKCE, and what redeems it. */
export async function codeFor(p: PortalClient, clientId: string, scope = 'openid groupinfo.read') {
  const { verifier, challenge } = pkce();
  const loc = await authorizeAs(p, { response_type: 'code', client_id: clientId, redirect_uri: REDIRECT, scope, state: 'st', code_challenge: challenge, code_challenge_method: 'S256' });
  const code = query(loc).code;
  if (!code) throw new Error(`no code in ${loc}`);
  return { code, verifier };
}

export async function redeem(app: FastifyInstance, reg: OAuthClientReg, code: string, verifier: string) {
  return tokenRequest(app, { grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: REDIRECT }, { authorization: basic(reg.id, reg.secret) });
}

export async function introspect(app: FastifyInstance, reg: OAuthClientReg, token: string): Promise<Record<string, unknown>> {
  const res = await app.inject({ method: 'POST', url: '/oauth/introspect', payload: form({ token }), headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(reg.id, reg.secret) } });
  return res.json();
}
