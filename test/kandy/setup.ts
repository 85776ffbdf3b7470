// Set-up shared by the Kandy suites: a developer with an organisation, its account key and secret,
// and a project (domain) with its key and secret, made through the portal's service the way the
// portal pages make them.
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Tessera } from '../../src/app.js';
import { PortalClient } from '../helpers/portal.js';

export interface SeededDomain {
  person: PortalClient;
  orgId: string;
  accountKey: string;
  accountSecret: string;
  domainName: string;
  domainId: string;
  domainKey: string;
  domainSecret: string;
}

export async function seedDomain(t: Tessera, opts: { email?: string; orgName?: string; domainName?: string } = {}): Promise<SeededDomain> {
  const email = opts.email ?? 'goofiw@example.com';
  const person = new PortalClient(t.app);
  await person.signup(email, 'Goofy Developer');
  const orgId = await person.createOrg(opts.orgName ?? 'Goofiw');
  const user = await t.db.kysely.selectFrom('users').select('id').where('email', '=', email).executeTakeFirstOrThrow();
  const actor = await t.services.accounts.actor(user.id);
  const { apiKey: accountKey, apiSecret: accountSecret } = await t.services.domains.rotateAccountSecret(actor, orgId);
  const { domain, apiSecret } = await t.services.domains.createDomainAsActor(actor, orgId, { domain_name: opts.domainName ?? 'goofiw.gmail.com', project_name: 'Kandi users' });
  return { person, orgId, accountKey, accountSecret, domainName: domain.domain_name, domainId: domain.id, domainKey: domain.api_key, domainSecret: apiSecret };
}

/** The seed's first curl: GET /v1.2/domains/accesstokens?key=…&domain_api_secret=… */
export async function domainToken(app: FastifyInstance, d: { domainKey: string; domainSecret: string }): Promise<string> {
  const res = await app.inject({ method: 'GET', url: `/v1.2/domains/accesstokens?key=${d.domainKey}&domain_api_secret=${d.domainSecret}` });
  if (res.statusCode !== 200) throw new Error(`domain token: ${res.statusCode} ${res.body}`);
  return res.json().result.domain_access_token as string;
}

/** The seed's second curl: POST /v1.2/domains/users/user_id?key=<token> with a JSON body. */
export function createUser(app: FastifyInstance, token: string, body: unknown): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST', url: `/v1.2/domains/users/user_id?key=${token}`, headers: { 'content-type': 'application/json' },
    payload: typeof body === 'string' ? body : JSON.stringify(body),
  });
}
