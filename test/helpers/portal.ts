// A browser-like client for the portal over app.inject(): keeps cookies, reads CSRF tokens from
// the forms it fetched, and follows the seed's steps. Used by every suite that needs a person.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';

export class PortalClient {
  private cookies = new Map<string, string>();
  csrf = '';

  /** `remoteAddress`: the client address the app sees (rate limits count per address). */
  constructor(readonly app: FastifyInstance, readonly remoteAddress?: string) {}

  cookie(name: string): string | undefined {
    return this.cookies.get(name);
  }

  private cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  private remember(res: LightMyRequestResponse): void {
    for (const c of res.cookies as { name: string; value: string; maxAge?: number; expires?: Date }[]) {
      if (c.value === '' || c.maxAge === 0 || (c.expires && c.expires.getTime() < Date.now())) this.cookies.delete(c.name);
      else this.cookies.set(c.name, c.value);
    }
    const m = /name="_csrf" value="([^"]+)"/.exec(res.body);
    if (m) this.csrf = m[1]!;
  }

  async get(url: string): Promise<LightMyRequestResponse> {
    const res = await this.app.inject({ method: 'GET', url, headers: { cookie: this.cookieHeader() }, ...(this.remoteAddress ? { remoteAddress: this.remoteAddress } : {}) });
    this.remember(res);
    return res;
  }

  /** Submits a form the way a browser does (urlencoded, with the page's CSRF token). */
  async post(url: string, form: Record<string, string | string[]>, opts: { csrf?: string | null } = {}): Promise<LightMyRequestResponse> {
    if (!this.csrf && opts.csrf === undefined) await this.get('/login');
    const params = new URLSearchParams();
    const token = opts.csrf === undefined ? this.csrf : opts.csrf;
    if (token !== null) params.append('_csrf', token);
    for (const [k, v] of Object.entries(form)) for (const item of Array.isArray(v) ? v : [v]) params.append(k, item);
    const res = await this.app.inject({
      method: 'POST', url, payload: params.toString(), ...(this.remoteAddress ? { remoteAddress: this.remoteAddress } : {}),
      headers: { cookie: this.cookieHeader(), 'content-type': 'application/x-www-form-urlencoded' },
    });
    this.remember(res);
    return res;
  }

  /** Submits an upload form (multipart/form-data, as a browser sends a form with a file input). */
  async upload(url: string, fields: Record<string, string>, file?: { field: string; name: string; type: string; bytes: Buffer }, opts: { csrf?: string | null } = {}): Promise<LightMyRequestResponse> {
    const form = new FormData();
    const token = opts.csrf === undefined ? this.csrf : opts.csrf;
    if (token !== null) form.append('_csrf', token);
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    if (file) form.append(file.field, new Blob([new Uint8Array(file.bytes)], { type: file.type }), file.name);
    const res = await this.app.inject({ method: 'POST', url, payload: form, headers: { cookie: this.cookieHeader() }, ...(this.remoteAddress ? { remoteAddress: this.remoteAddress } : {}) });
    this.remember(res);
    return res;
  }

  async signup(email: string, name = 'Test Person', password = 'correct horse battery'): Promise<void> {
    await this.get('/signup');
    const res = await this.post('/signup', { name, email, password });
    if (res.statusCode !== 303) throw new Error(`signup failed: ${res.statusCode} ${res.body.slice(0, 500)}`);
    await this.get('/dashboard');
  }

  /** Reads the newest PIN sent to this person from the development outbox page. */
  async latestPin(): Promise<string> {
    const res = await this.get('/outbox');
    const m = /PIN is (\d{6})/.exec(res.body);
    if (!m) throw new Error('no PIN in the outbox');
    return m[1]!;
  }

  async verifyPhone(phone: string): Promise<string> {
    const add = await this.post('/phones', { phone });
    if (add.statusCode !== 303) throw new Error(`add phone failed: ${add.statusCode} ${add.body.slice(0, 500)}`);
    const verifyUrl = add.headers.location as string;
    const pin = await this.latestPin();
    await this.get(verifyUrl);
    const res = await this.post(verifyUrl, { pin });
    if (res.statusCode !== 303) throw new Error(`verify failed: ${res.statusCode} ${res.body.slice(0, 500)}`);
    return /\/phones\/([^/]+)\/verify/.exec(verifyUrl)![1]!;
  }

  async createOrg(name: string): Promise<string> {
    const res = await this.post('/orgs', { name });
    if (res.statusCode !== 303) throw new Error(`create org failed: ${res.statusCode}`);
    const id = /\/orgs\/(.+)$/.exec(res.headers.location as string)![1]!;
    await this.get(`/orgs/${id}`);
    return id;
  }

  async createGroup(orgId: string, name: string): Promise<string> {
    const res = await this.post(`/orgs/${orgId}/groups`, { name, welcomeMessage: `Welcome to ${name}` });
    if (res.statusCode !== 303) throw new Error(`create group failed: ${res.statusCode} ${res.body.slice(0, 300)}`);
    const id = /\/groups\/(.+)$/.exec(res.headers.location as string)![1]!;
    await this.get(`/groups/${id}`);
    return id;
  }

  /** Follows a form's 303 to the page it leads to, as a browser does (the page shows the one-time flash). */
  async follow(res: LightMyRequestResponse): Promise<LightMyRequestResponse> {
    if (res.statusCode !== 303) throw new Error(`expected a redirect, got ${res.statusCode} ${res.body.slice(0, 800)}`);
    return this.get(res.headers.location as string);
  }

  async createConnector(orgId: string, name: string, permissions: string[], extra: Record<string, string | string[]> = {}): Promise<{ id: string; secret: string }> {
    await this.get('/connectors/new');
    const page = await this.follow(await this.post('/connectors', { orgId, name, description: `${name} description`, permissions, ...extra }));
    return {
      id: /id="connector-id">([^<]+)</.exec(page.body)![1]!,
      secret: /id="connector-secret">([^<]+)</.exec(page.body)?.[1] ?? '',
    };
  }

  async grant(groupId: string, connectorId: string): Promise<string> {
    await this.get(`/groups/${groupId}`);
    const page = await this.follow(await this.post(`/groups/${groupId}/connectors`, { connectorId: '', connectorIdManual: connectorId }));
    return /id="refresh-token">([^<]+)</.exec(page.body)![1]!;
  }
}

export const ALL_PERMISSIONS = ['groupinfo.read', 'groupinfo.write', 'groupmember.read', 'groupmember.write', 'groupmember.remove', 'textmessage.read', 'textmessage.write'];

/** The seed's set-up in one call: a developer with a verified phone, an org, a group and a granted connector. */
export async function seedConnectorFlow(app: FastifyInstance, opts: { email?: string; phone?: string; permissions?: string[]; orgName?: string; groupName?: string } = {}) {
  const person = new PortalClient(app);
  await person.signup(opts.email ?? 'dev@example.com');
  await person.verifyPhone(opts.phone ?? '+14155550123');
  const orgId = await person.createOrg(opts.orgName ?? 'Contoso');
  const groupId = await person.createGroup(orgId, opts.groupName ?? 'Field team');
  const connector = await person.createConnector(orgId, 'Inventory bot', opts.permissions ?? ALL_PERMISSIONS);
  const refreshToken = await person.grant(groupId, connector.id);
  return { person, orgId, groupId, connector, refreshToken };
}

export async function accessToken(app: FastifyInstance, connector: { id: string; secret: string }, refreshToken: string): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'GET', url: '/v1/accessToken', headers: { applicationId: connector.id, applicationSecret: connector.secret, refreshToken } });
}
