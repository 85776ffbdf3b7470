// The Zaikio seed, over HTTP: a platform registered in the portal; a new person signs up on its
// white-label page and lands on the redirect URI with a code the platform app exchanges; a
// private access token of the owner organisation reads the platform, lists members, reads a
// member and creates an organisation for them; another platform's token sees none of it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { PortalClient } from '../helpers/portal.js';
import { basic, form, pkce, REDIRECT } from '../oauth/helpers.js';
import { bearer, platformOwner, privateToken, PNG, type PlatformSetup } from './helpers.js';

describe('platforms: white-label sign-up, the Platform API and private access tokens', () => {
  let t: TestApp;
  let acme: PlatformSetup;
  let globex: PlatformSetup;
  let acmeToken: string;
  let globexToken: string;
  let memberId: string;
  let memberAccess: string;

  before(async () => {
    t = await createTestApp();
    acme = await platformOwner(t.app, 'acme');
    globex = await platformOwner(t.app, 'globex');
    acmeToken = await privateToken(acme.owner, acme.orgId, ['directory.platform.rw', 'directory.organization.r']);
    globexToken = await privateToken(globex.owner, globex.orgId, ['directory.platform.rw']);
  });
  after(async () => { await t.close(); });

  const api = (url: string, token: string, method: 'GET' | 'POST' | 'DELETE' = 'GET', payload?: unknown) =>
    t.app.inject({ method, url, headers: bearer(token), ...(payload ? { payload: payload as Record<string, unknown> } : {}) });

  test('the logo is served as the image it is, from the platform\'s address', async () => {
    const page = await acme.owner.get(`/platforms/${acme.platformId}`);
    assert.equal(page.statusCode, 200);
    const src = /<img src="(\/acme\/logo\?v=\d+)"/.exec(page.body)![1]!;
    const logo = await t.app.inject({ url: src });
    assert.equal(logo.statusCode, 200);
    assert.equal(logo.headers['content-type'], 'image/png');
    assert.deepEqual(logo.rawPayload, PNG);
    assert.equal((await t.app.inject({ url: '/globex-nope/logo' })).statusCode, 404);
  });

  test('a new person signs up on the white-label page, becomes a member and the app gets a code', async () => {
    const { verifier, challenge } = pkce();
    const person = new PortalClient(t.app);
    const query = new URLSearchParams({
      client_id: acme.app.id, redirect_uri: REDIRECT, scope: 'directory.platform_membership.rw directory.person.r', prompt: 'signup', state: 'xyz',
      code_challenge: challenge, code_challenge_method: 'S256', response_type: 'code',
    });
    const start = await person.get(`/acme/oauth/authorize?${query.toString()}`);
    assert.equal(start.statusCode, 303);
    const signupUrl = start.headers.location as string;
    assert.match(signupUrl, /^\/acme\/signup\?next=%2Facme%2Foauth%2Fauthorize/);
    const signup = await person.get(signupUrl);
    assert.equal(signup.statusCode, 200);
    assert.match(signup.body, /<title>Sign up · Acme Print · Acme Print<\/title>/);
    assert.match(signup.body, /action="\/acme\/signup"/);
    assert.match(signup.body, /Become a member of the platform/);
    assert.match(signup.body, /powered by Tessera/);
    assert.doesNotMatch(signup.body, /href="\/(login|signup|dashboard)/, 'every link stays under /acme/');
    const next = /name="next" value="([^"]*)"/.exec(signup.body)![1]!.replace(/&amp;/g, '&');
    const created = await person.post('/acme/signup', { name: 'Mia Member', email: 'mia@example.com', password: 'correct horse battery', next });
    assert.equal(created.statusCode, 303, created.body.slice(0, 400));
    const back = await person.get(created.headers.location as string);
    assert.equal(back.statusCode, 303);
    const callback = new URL(back.headers.location as string);
    assert.equal(`${callback.origin}${callback.pathname}`, REDIRECT);
    assert.equal(callback.searchParams.get('state'), 'xyz');
    const code = callback.searchParams.get('code')!;

    const token = await t.app.inject({
      method: 'POST', url: '/acme/oauth/access_token', payload: form({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier }),
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(acme.app.id, acme.app.secret) },
    });
    assert.equal(token.statusCode, 200, token.body);
    const body = token.json();
    assert.equal(body.scope, 'directory.platform_membership.rw,directory.person.r');
    assert.equal(body.bearer.type, 'Person');
    memberId = body.bearer.id;
    memberAccess = body.access_token;

    const me = await api('/api/v1/person', memberAccess);
    assert.equal(me.statusCode, 200);
    assert.deepEqual({ ...(me.json() as object), created_at: 'x', updated_at: 'x' }, {
      id: memberId, name: 'Mia Member', full_name: 'Mia Member', email: 'mia@example.com', created_at: 'x', updated_at: 'x', organization_memberships: [],
    });
  });

  test('the owner\'s private access token reads the platform, its members and a member; creates an organisation for them', async () => {
    const platform = await api('/api/v1/platforms/acme', acmeToken);
    assert.equal(platform.statusCode, 200);
    assert.equal(platform.json().name, 'acme');
    assert.equal(platform.json().members_count, 1);
    assert.equal(platform.json().app_id, acme.app.id);

    const members = await api('/api/v1/platforms/acme/members', acmeToken);
    assert.equal(members.statusCode, 200);
    assert.deepEqual(members.json().map((m: { type: string; id: string; joined_via: string }) => [m.type, m.id, m.joined_via]), [['Person', memberId, 'signup']]);
    assert.equal(members.headers['total-count'], '1');

    const created = await api(`/api/v1/platforms/acme/persons/${memberId}/organizations`, acmeToken, 'POST', { organization: { name: 'Mia Prints', country_code: 'de' } });
    assert.equal(created.statusCode, 201, created.body);
    const org = created.json();
    assert.equal(org.name, 'Mia Prints');
    assert.equal(org.country_code, 'DE');

    const person = await api(`/api/v1/platforms/acme/persons/${memberId}`, acmeToken);
    assert.equal(person.statusCode, 200);
    assert.deepEqual(person.json().organizations.map((o: { id: string; roles: string[]; platform_member: boolean }) => [o.id, o.roles, o.platform_member]), [[org.id, ['owner'], true]]);

    const page2 = await api('/api/v1/platforms/acme/members?per_page=1&page=2', acmeToken);
    assert.equal(page2.statusCode, 200);
    assert.equal(page2.headers['total-count'], '2');
    assert.equal(page2.headers['total-pages'], '2');
    assert.equal(page2.json().length, 1);

    const invalid = await api(`/api/v1/platforms/acme/persons/${memberId}/organizations`, acmeToken, 'POST', { organization: { name: ' ', country_code: 'XX' } });
    assert.deepEqual([invalid.statusCode, invalid.json()], [422, { errors: { name: ["can't be blank"], country_code: ['is not a country code (ISO 3166-1 alpha-2)'] } }]);
  });

  test('isolation: another platform\'s token finds nothing; a token without the scope or of the wrong bearer is refused', async () => {
    const routes: ['GET' | 'POST' | 'DELETE', string, unknown?][] = [
      ['GET', '/api/v1/platforms/acme'],
      ['GET', '/api/v1/platforms/acme/members'],
      ['GET', `/api/v1/platforms/acme/persons/${memberId}`],
      ['POST', `/api/v1/platforms/acme/persons/${memberId}/organizations`, { organization: { name: 'X', country_code: 'DE' } }],
      ['DELETE', `/api/v1/platforms/acme/members/persons/${memberId}`],
      ['GET', `/api/v1/platforms/globex/persons/${memberId}`],
      ['DELETE', `/api/v1/platforms/globex/members/persons/${memberId}`],
    ];
    for (const [method, url, payload] of routes) {
      const res = await api(url, globexToken, method, payload);
      assert.deepEqual([res.statusCode, res.json()], [404, { errors: ['not_found'] }], `${method} ${url}`);
    }
    const orgOnly = await privateToken(acme.owner, acme.orgId, ['directory.organization.r'], 'org only');
    for (const [method, url, payload] of routes.slice(0, 5)) {
      const res = await api(url, orgOnly, method, payload);
      assert.deepEqual([res.statusCode, res.json()], [403, { errors: ['unpermitted_scope'] }], `${method} ${url}`);
      const person = await api(url, memberAccess, method, payload);
      assert.deepEqual([person.statusCode, person.json()], [403, { errors: ['unpermitted_subject'] }], `${method} ${url}`);
    }
    const readOnly = await privateToken(acme.owner, acme.orgId, ['directory.platform.r'], 'read only');
    const write = await api(`/api/v1/platforms/acme/members/persons/${memberId}`, readOnly, 'DELETE');
    assert.deepEqual([write.statusCode, write.json()], [403, { errors: ['unpermitted_scope'] }]);
    assert.equal((await api('/api/v1/platforms/acme/members', readOnly)).statusCode, 200);
  });

  test('a revoked private access token is refused at once and listed for offline verifiers', async () => {
    const token = await privateToken(acme.owner, acme.orgId, ['directory.organization.r'], 'short-lived');
    const jti = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).jti as string;
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
    assert.equal(claims.sub, `Organization/${acme.orgId}`);
    assert.deepEqual(claims.scope, ['directory.organization.r']);
    const org = await api('/api/v1/organization', token);
    assert.equal(org.statusCode, 200);
    assert.equal(org.json().id, acme.orgId);
    const list = await acme.owner.get(`/orgs/${acme.orgId}/private-tokens`);
    const row = new RegExp(`<tr><td>short-lived <span class="tag ok">active</span></td><td><code>directory.organization.r</code> </td><td>([^<]+)</td><td>([^<]+)</td>`).exec(list.body);
    assert.ok(row, 'listed with creation and last use');
    assert.notEqual(row[2], '—', 'the use was recorded');
    const revoke = await acme.owner.post(`/orgs/${acme.orgId}/private-tokens/${jti}/revoke`, {});
    assert.equal(revoke.statusCode, 303, list.body.slice(0, 100));
    const refused = await api('/api/v1/organization', token);
    assert.deepEqual([refused.statusCode, refused.json()], [403, { errors: ['invalid_jwt'] }]);
    const revoked = await t.app.inject({ url: '/api/v1/revoked_access_tokens' });
    assert.ok(revoked.json().revoked_token_ids.includes(jti));
  });

  test('ending a membership through the API revokes the platform app\'s grants for the person', async () => {
    const ended = await api(`/api/v1/platforms/acme/members/persons/${memberId}`, acmeToken, 'DELETE');
    assert.equal(ended.statusCode, 204);
    const me = await api('/api/v1/person', memberAccess);
    assert.deepEqual([me.statusCode, me.json()], [403, { errors: ['invalid_jwt'] }]);
    const again = await api(`/api/v1/platforms/acme/members/persons/${memberId}`, acmeToken, 'DELETE');
    assert.deepEqual([again.statusCode, again.json()], [404, { errors: ['not_found'] }]);
  });

  test('the owner\'s page searches members; deleting the platform ends its memberships and its pages', async () => {
    const found = await acme.owner.get(`/platforms/${acme.platformId}?q=prints&type=Organization`);
    assert.equal(found.statusCode, 200);
    assert.deepEqual([...found.body.matchAll(/<tr><td>([^<]+)(?:<br>)?[^]*?<\/td><td>(person|organisation)<\/td>/g)].map((m) => [m[1], m[2]]), [['Mia Prints', 'organisation']]);
    const none = await acme.owner.get(`/platforms/${acme.platformId}?q=${encodeURIComponent('%_')}`);
    assert.match(none.body, /No member matches\./);
    const deleted = await acme.owner.post(`/platforms/${acme.platformId}/delete`, {});
    assert.equal(deleted.statusCode, 303);
    assert.equal(deleted.headers.location, `/orgs/${acme.orgId}/platforms`);
    assert.deepEqual(await t.db.kysely.selectFrom('platform_members').select('member_id').where('platform_id', '=', acme.platformId).execute(), []);
    assert.equal((await new PortalClient(t.app).get('/acme/signup')).statusCode, 404);
    const api = await t.app.inject({ url: '/api/v1/platforms/acme', headers: bearer(acmeToken) });
    assert.deepEqual([api.statusCode, api.json()], [404, { errors: ['not_found'] }]);
  });
});
