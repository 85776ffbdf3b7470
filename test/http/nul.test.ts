// A NUL character (U+0000) in any string input is refused with a 400 in each surface's own error
// format, and nothing is written: PostgreSQL cannot store one and used to answer 500.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { accessToken, seedConnectorFlow } from '../helpers/portal.js';
import { REDIRECT, authorizePath, basic, developer, pkce, query, tokenRequest, type OAuthClientReg } from '../oauth/helpers.js';
import { domainToken, seedDomain } from '../kandy/setup.js';

const NUL = '\u0000';
const apiError = (field: string) => ({ error: { code: 'validation_failed', message: `${field}: must not contain NUL characters`, details: { field } } });
const errorText = (body: string) => /<div class="error" role="alert">([^<]*)<\/div>/.exec(body)?.[1];

describe('NUL characters in input', () => {
  let t: TestApp;
  let flow: Awaited<ReturnType<typeof seedConnectorFlow>>;
  let auth: Record<string, string>;
  let web: OAuthClientReg;

  before(async () => {
    t = await createTestApp();
    flow = await seedConnectorFlow(t.app, { phone: '+14155550124' });
    auth = { accessToken: (await accessToken(t.app, flow.connector, flow.refreshToken)).json().accessToken };
    web = await (await developer(t.app, 'oauth-dev@example.com')).register('Web');
  });
  after(async () => { await t.close(); });

  const count = async (table: 'messages' | 'group_members' | 'organizations' | 'groups' | 'domain_users') =>
    Number((await t.db.kysely.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);

  test('platform API: body, nested body, route parameter and query string answer validation_failed naming the field', async () => {
    const messages = await count('messages');
    const members = await count('group_members');
    const cases: [string, string, object | undefined, string][] = [
      ['POST', `/v1/groups/${flow.groupId}/messages`, { message: `a${NUL}b` }, 'message'],
      ['PUT', `/v1/groups/${flow.groupId}/members`, { members: ['+14155550177', `+1415555${NUL}0178`] }, 'members[1]'],
      ['POST', `/v1/groups/${flow.groupId}/subGroups`, { name: 'Night', welcomeMessage: `hi${NUL}` }, 'welcomeMessage'],
      ['GET', `/v1/groups/${flow.groupId}${encodeURIComponent(NUL)}`, undefined, 'groupId'],
      ['GET', `/v1/groups/${flow.groupId}/messages?cursor=${encodeURIComponent(`${NUL}${'0'.repeat(35)}`)}`, undefined, 'cursor'],
    ];
    for (const [method, url, payload, field] of cases) {
      const res = await t.app.inject({ method: method as 'GET', url, headers: auth, ...(payload ? { payload } : {}) });
      assert.deepEqual([res.statusCode, res.json()], [400, apiError(field)], `${method} ${url}`);
    }
    assert.equal(await count('messages'), messages);
    assert.equal(await count('group_members'), members);
  });

  test('OAuth token, revocation and introspection endpoints answer invalid_request', async () => {
    const cases: [string, Record<string, string>, string][] = [
      ['/oauth/token', { grant_type: 'client_credentials', scope: `groupinfo.read${NUL}` }, 'scope'],
      ['/oauth/token', { grant_type: 'refresh_token', refresh_token: `tor_${NUL}` }, 'refresh_token'],
      ['/oauth/introspect', { token: `a${NUL}b` }, 'token'],
      ['/oauth/revoke', { token: `a${NUL}b` }, 'token'],
    ];
    for (const [path, values, field] of cases) {
      const res = await tokenRequest(t.app, values, { authorization: basic(web.id, web.secret) }, path);
      assert.deepEqual([res.statusCode, res.json()], [400, { error: 'invalid_request', error_description: `${field}: must not contain NUL characters` }], path);
      assert.equal(res.headers['cache-control'], 'no-store');
    }
    const id = await tokenRequest(t.app, { grant_type: 'client_credentials', client_id: `${web.id}${NUL}`, client_secret: web.secret });
    assert.deepEqual([id.statusCode, id.json()], [400, { error: 'invalid_request', error_description: 'client_id: must not contain NUL characters' }]);
  });

  test('a NUL inside HTTP Basic credentials (Base64, then percent-encoded) is refused as invalid_client', async () => {
    const headers = [
      `Basic ${Buffer.from(`${encodeURIComponent(`${web.id}${NUL}`)}:${web.secret}`).toString('base64')}`,
      `Basic ${Buffer.from(`${web.id}:${web.secret}${NUL}`).toString('base64')}`,
    ];
    for (const authorization of headers) {
      for (const [path, values] of [['/oauth/token', { grant_type: 'client_credentials' }], ['/oauth/introspect', { token: 'x' }], ['/oauth/revoke', { token: 'x' }]] as const) {
        const res = await tokenRequest(t.app, values, { authorization }, path);
        assert.deepEqual([res.statusCode, res.json()], [401, { error: 'invalid_client', error_description: 'the Authorization header is not valid HTTP Basic' }], path);
        assert.equal(res.headers['www-authenticate'], 'Basic realm="tessera", charset="UTF-8"');
      }
    }
  });

  test('OAuth authorization endpoint: back to the client as invalid_request, or a page while the client is unknown', async () => {
    const { challenge } = pkce();
    const params = { response_type: 'code', client_id: web.id, redirect_uri: REDIRECT, scope: 'groupinfo.read', state: 's', code_challenge: challenge, code_challenge_method: 'S256' };
    const res = await flow.person.get(authorizePath({ ...params, nonce: `n${NUL}` }));
    assert.equal(res.statusCode, 303);
    assert.deepEqual(query(res.headers.location as string), { error: 'invalid_request', error_description: 'nonce: must not contain NUL characters', state: 's', iss: t.config.publicUrl });
    const page = await flow.person.get(authorizePath({ ...params, client_id: `${web.id}${NUL}` }));
    assert.equal(page.statusCode, 400);
    assert.equal(page.headers.location, undefined);
    assert.equal(errorText(page.body), 'client_id: must not contain NUL characters');
    assert.equal(Number((await t.db.kysely.selectFrom('oauth_codes').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n), 0);
  });

  test('portal: a form or a query string answers an HTML 400 page naming the field', async () => {
    const orgs = await count('organizations');
    await flow.person.get('/orgs');
    const form = await flow.person.post('/orgs', { name: `Evil${NUL}Corp` });
    assert.equal(form.statusCode, 400);
    assert.match(String(form.headers['content-type']), /^text\/html/);
    assert.equal(errorText(form.body), 'name: must not contain NUL characters');
    const login = await flow.person.get(`/login?next=${encodeURIComponent(`/x${NUL}`)}`);
    assert.equal(login.statusCode, 400);
    assert.equal(errorText(login.body), 'next: must not contain NUL characters');
    assert.equal(await count('organizations'), orgs);
  });

  test('portal: a forged form is refused as forged even when it also carries a NUL', async () => {
    const res = await flow.person.post('/orgs', { name: `Evil${NUL}Corp` }, { csrf: null });
    assert.equal(res.statusCode, 403);
    assert.equal(errorText(res.body), 'The form has expired or did not come from this site; reload the page and try again');
  });

  test('Kandy /v1.2 answers its envelope with status 4; the native API its JSON error', async () => {
    const d = await seedDomain(t, { email: 'kandy@example.com', orgName: 'Kandy org', domainName: 'nul.example.com' });
    const token = await domainToken(t.app, d);
    const users = await count('domain_users');
    const res = await t.app.inject({
      method: 'POST', url: `/v1.2/domains/users/user_id?key=${token}`, headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ user_id: 'zed', user_country_code: '+1', user_first_name: `Ze${NUL}d` }),
    });
    assert.deepEqual([res.statusCode, res.json()], [400, { result: null, status: 4, message: 'user_first_name: must not contain NUL characters' }]);
    const key = await t.app.inject({ method: 'GET', url: `/v1.2/domains/users?key=${encodeURIComponent(`DAT${NUL}`)}` });
    assert.deepEqual([key.statusCode, key.json()], [400, { result: null, status: 4, message: 'key: must not contain NUL characters' }]);
    const native = await t.app.inject({ method: 'POST', url: '/api/v1/account/access-tokens', payload: { apiKey: `k${NUL}`, apiSecret: 's' } });
    assert.deepEqual([native.statusCode, native.json()], [400, apiError('apiKey')]);
    assert.equal(await count('domain_users'), users);
  });
});
