// A real upstream OpenID Connect provider for the federated sign-in tests: oidc-provider, on a
// loopback socket, with a small log-in page of its own (a login name, and Allow or Cancel).
//
// `entra: true` makes it look like Microsoft Entra ID's multi-tenant endpoints: one oidc-provider
// per tenant, each with the issuer http://…/<tid>/v2.0 and one shared signing key (Entra signs
// every tenant's tokens with the same keys); /organizations/v2.0/… serves the tenant of the
// account chosen next (`useTenant`), and its discovery document names the issuer as the template
// http://…/{tenantid}/v2.0. ID tokens carry tid, oid and preferred_username, as Entra's do.
// Without it, one plain provider keeps e-mail claims for its userinfo endpoint (oidc-provider's
// default), so Tessera's userinfo fallback is exercised.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { generateKeyPairSync } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import Provider, { type Configuration } from 'oidc-provider';
import { decodeJwt, SignJWT, type JWTPayload } from 'jose';

/** How the next token response's ID token is spoiled (re-signed), to try each of Tessera's checks. */
export type Tamper = 'nonce' | 'issuer' | 'audience' | 'expired' | 'signature';

export interface UpstreamAccount {
  email?: string;
  email_verified?: boolean;
  name?: string;
  /** Entra: the tenant and object id; `sub` is then made per application, as Entra does. */
  tid?: string;
  oid?: string;
  preferred_username?: string;
  /** Entra's optional claim: the e-mail's domain is verified by its owner. */
  xms_edov?: boolean;
  /** What the provider asserts about the authentication (`amr`). */
  amr?: string[];
}

export interface Upstream {
  /** The generic provider's issuer, or Entra's authority (the host, without a tenant). */
  url: string;
  /** The accounts by login name; tests add to it. */
  accounts: Map<string, UpstreamAccount>;
  /** Entra: which tenant /organizations/v2.0 serves next. */
  useTenant(tid: string): void;
  /** Makes the provider answer every request with 503 (down), or serve again. */
  setDown(down: boolean): void;
  /** Spoils the ID token of the next token response. */
  tamperNext(how: Tamper): void;
  close(): Promise<void>;
}

const page = (uid: string) => `<!doctype html><html><head><title>Upstream sign-in</title></head><body>
<h1>Sign in at the identity provider</h1>
<form method="post" action="/interaction/${uid}">
<label for="login">Login name</label><input id="login" name="login" autocomplete="off">
<button type="submit" name="decision" value="allow">Sign in</button>
<button type="submit" name="decision" value="deny">Cancel</button>
</form></body></html>`;

async function formBody(req: IncomingMessage): Promise<URLSearchParams> {
  let body = '';
  for await (const chunk of req) body += String(chunk);
  return new URLSearchParams(body);
}

/** `redirectUris` is read when the provider first serves, so a test may fill it once Tessera listens. */
export async function startUpstream(opts: { clientId: string; clientSecret: string; redirectUris: string[]; entra?: { tenants: string[] } }): Promise<Upstream> {
  const accounts = new Map<string, UpstreamAccount>();
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const { privateKey: strangerKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  let tamper: Tamper | undefined;
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'upstream-1', alg: 'RS256', use: 'sig' };
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const entra = opts.entra;

  const providerFor = (issuer: string): Provider => {
    const config: Configuration = {
      clients: [{ client_id: opts.clientId, client_secret: opts.clientSecret, redirect_uris: opts.redirectUris, grant_types: ['authorization_code'], response_types: ['code'] }],
      jwks: { keys: [jwk] },
      cookies: { keys: ['upstream-test-cookie-key'] },
      pkce: { required: () => true },
      claims: entra
        ? { openid: ['sub', 'amr'], profile: ['name', 'oid', 'tid', 'preferred_username'], email: ['email', 'xms_edov'] }
        : { openid: ['sub', 'amr'], profile: ['name'], email: ['email', 'email_verified'] },
      // Entra puts the profile claims in the ID token; oidc-provider's default keeps them for userinfo.
      conformIdTokenClaims: !entra,
      features: { devInteractions: { enabled: false } },
      interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
      findAccount: (_ctx, id) => {
        const a = accounts.get(id);
        if (!a) return undefined;
        const { amr: _amr, ...claims } = a;
        // Entra's sub is pairwise; (tid, oid) is the person.
        return { accountId: id, claims: () => ({ sub: entra ? `pairwise-${id}` : id, ...claims }) };
      },
    };
    const p = new Provider(issuer, config);
    p.on('server_error', (_ctx, err) => process.stderr.write(`upstream server_error: ${String((err as Error).stack ?? err)}\n`));
    return p;
  };

  // Made on first use, so a test may fill `redirectUris` once it knows Tessera's address.
  const made = new Map<string, Provider>();
  const providerOf = (key: string, issuer: string): Provider => {
    if (!made.has(key)) made.set(key, providerFor(issuer));
    return made.get(key)!;
  };
  const tenant = (tid: string): Provider | undefined => (entra?.tenants.includes(tid) ? providerOf(tid, `${base}/${tid}/v2.0`) : undefined);
  let active = entra?.tenants[0];
  let down = false;
  const current = (): Provider => (entra ? tenant(active!)! : providerOf('', base));

  /** Hands a request to a provider mounted at `mount` (oidc-provider reads the mount from originalUrl). */
  const mounted = (p: Provider, mount: string, req: IncomingMessage, res: ServerResponse) => {
    (req as IncomingMessage & { originalUrl?: string }).originalUrl = req.url;
    req.url = req.url!.slice(mount.length) || '/';
    return p.callback()(req, res);
  };

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      if (down) return res.writeHead(503).end('down');
      const path = new URL(req.url!, base).pathname;
      if (tamper && path.endsWith('/token')) {
        spoil(res, tamper);
        tamper = undefined;
      }
      const interaction = /^\/interaction\/([^/]+)$/.exec(path);
      if (interaction) {
        const p = current();
        const details = await p.interactionDetails(req, res);
        if (req.method === 'GET') return res.writeHead(200, { 'content-type': 'text/html' }).end(page(interaction[1]!));
        const form = await formBody(req);
        const login = form.get('login') ?? '';
        if (form.get('decision') !== 'allow' || !accounts.has(login)) {
          return p.interactionFinished(req, res, { error: 'access_denied', error_description: 'The person cancelled the sign-in' }, { mergeWithLastSubmission: false });
        }
        const grant = new p.Grant({ accountId: login, clientId: opts.clientId });
        grant.addOIDCScope(String(details.params.scope));
        const grantId = await grant.save();
        const amr = accounts.get(login)!.amr;
        return p.interactionFinished(req, res, { login: { accountId: login, ...(amr ? { amr } : {}) }, consent: { grantId } }, { mergeWithLastSubmission: false });
      }
      if (!entra) return current().callback()(req, res);
      const m = /^\/([^/]+)\/v2\.0(\/.*)?$/.exec(path);
      if (!m) return res.writeHead(404).end();
      const segment = m[1]!;
      if (segment === 'organizations' || segment === 'common') {
        if (m[2] === '/.well-known/openid-configuration') {
          // The multi-tenant document: endpoints under /organizations/v2.0, the issuer a template.
          const doc = await (await fetch(`${base}/${active}/v2.0/.well-known/openid-configuration`)).json() as Record<string, unknown>;
          const text = JSON.stringify(doc).replaceAll(`/${active}/v2.0`, `/${segment}/v2.0`);
          const multi = { ...(JSON.parse(text) as Record<string, unknown>), issuer: `${base}/{tenantid}/v2.0` };
          return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(multi));
        }
        return mounted(current(), `/${segment}/v2.0`, req, res);
      }
      const own = tenant(segment);
      if (!own) return res.writeHead(404).end();
      return mounted(own, `/${segment}/v2.0`, req, res);
    })().catch((err: unknown) => {
      process.stderr.write(`upstream: ${String((err as Error).stack ?? err)}\n`);
      if (!res.headersSent) res.writeHead(500).end();
    });
  });

  /** Re-signs the ID token of the response about to be written, with one thing wrong. */
  const spoil = (res: ServerResponse, how: Tamper) => {
    const chunks: Buffer[] = [];
    const end = res.end.bind(res);
    res.write = ((chunk: unknown) => { chunks.push(Buffer.from(chunk as Buffer)); return true; }) as ServerResponse['write'];
    res.end = ((chunk?: unknown) => {
      if (chunk && typeof chunk !== 'function') chunks.push(Buffer.from(chunk as Buffer));
      void (async () => {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as { id_token?: string };
        if (body.id_token) {
          const now = Math.floor(Date.now() / 1000);
          const claims: JWTPayload = { ...decodeJwt(body.id_token) };
          if (how === 'nonce') claims.nonce = 'someone-elses-nonce';
          if (how === 'issuer') claims.iss = 'http://127.0.0.1:1/another-issuer';
          if (how === 'audience') claims.aud = 'another-client';
          if (how === 'expired') Object.assign(claims, { iat: now - 7200, exp: now - 3600 });
          body.id_token = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: jwk.kid }).sign(how === 'signature' ? strangerKey : privateKey);
        }
        const text = JSON.stringify(body);
        res.setHeader('content-length', Buffer.byteLength(text));
        end(text);
      })();
      return res;
    }) as ServerResponse['end'];
  };

  return {
    url: base,
    accounts,
    useTenant: (tid) => { active = tid; },
    setDown: (d) => { down = d; },
    tamperNext: (how) => { tamper = how; },
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** A tiny cookie jar for driving the upstream's pages over HTTP, as a browser would. */
export class CookieJar {
  private readonly cookies = new Map<string, string>();

  store(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (/expires=Thu, 01 Jan 1970/i.test(line) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

/**
 * Goes through the upstream's sign-in from the authorization URL Tessera sent the person to:
 * the log-in page, the chosen login and decision, then the redirects until one leaves the
 * upstream. Returns that address: Tessera's callback with code and state (or error).
 */
export async function signInUpstream(authorizationUrl: string, login: string, decision: 'allow' | 'deny' = 'allow'): Promise<URL> {
  const jar = new CookieJar();
  const origin = new URL(authorizationUrl).origin;
  let url = authorizationUrl;
  let method = 'GET';
  let body: string | undefined;
  for (let hop = 0; hop < 10; hop++) {
    const res = await fetch(url, {
      method, redirect: 'manual', body,
      headers: { cookie: jar.header(), ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
    });
    jar.store(res);
    const location = res.headers.get('location');
    if (location) {
      const next = new URL(location, url);
      if (next.origin !== origin) return next;
      url = next.href;
      method = 'GET';
      body = undefined;
      await res.arrayBuffer();
      continue;
    }
    const html = await res.text();
    if (res.status !== 200 || !/name="login"/.test(html)) throw new Error(`upstream answered ${res.status}: ${html.slice(0, 300)}`);
    url = new URL(/action="([^"]+)"/.exec(html)![1]!, url).href;
    method = 'POST';
    body = new URLSearchParams({ login, decision }).toString();
  }
  throw new Error('too many redirects at the upstream');
}
