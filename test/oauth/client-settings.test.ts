// Editing a connector's OAuth settings in the portal (redirect URIs, grant types, client type)
// after registration, under the same rules as registration.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { PortalClient } from '../helpers/portal.js';
import { REDIRECT, authorizePath, basic, codeFor, developer, introspect, redeem, tokenRequest, type OAuthClientReg } from './helpers.js';

const errorText = (body: string) => /<div class="error" role="alert">([^<]*)<\/div>/.exec(body)?.[1];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
const refused = (res: LightMyRequestResponse, status: number, message: string) => assert.deepEqual([res.statusCode, errorText(res.body)], [status, esc(message)]);

describe("editing a connector's OAuth settings", () => {
  let t: TestApp;
  let dev: PortalClient;
  let orgId: string;
  let register: Awaited<ReturnType<typeof developer>>['register'];
  let alice: PortalClient;

  before(async () => {
    t = await createTestApp();
    ({ dev, orgId, register } = await developer(t.app));
    alice = new PortalClient(t.app);
    await alice.signup('alice@example.com', 'Alice');
  });
  after(async () => { await t.close(); });

  const settings = async (id: string, values: Record<string, string | string[]>) => {
    await dev.get(`/connectors/${id}/oauth`);
    const res = await dev.post(`/connectors/${id}/oauth`, values);
    // A saved form redirects to the connector's page (post/redirect/get), which shows the result once.
    return res.statusCode === 303 ? dev.follow(res) : res;
  };
  const row = (id: string) => t.db.kysely.selectFrom('connectors').select(['client_type', 'redirect_uris', 'grant_types', 'secret_hash', 'secret_generation'])
    .where('id', '=', id).executeTakeFirstOrThrow();
  const clientCredentials = (id: string, secret: string) => tokenRequest(t.app, { grant_type: 'client_credentials' }, { authorization: basic(id, secret) });

  test('the settings page shows the current values; new redirect URIs replace the old at the authorization endpoint', async () => {
    const web = await register('Web');
    const page = await dev.get(`/connectors/${web.id}/oauth`);
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /<textarea id="f-redirectUris" name="redirectUris"[^>]*>https:\/\/rp\.example\/callback<\/textarea>/);
    assert.match(page.body, /Unticking <code>client_credentials<\/code> stops the access tokens it issued for good, even if it is ticked again later\./);
    const res = await settings(web.id, { clientType: 'confidential', redirectUris: 'https://rp.example/new\nhttps://rp.example/other', grantTypes: ['authorization_code', 'refresh_token'] });
    assert.equal(res.statusCode, 200);
    assert.match(res.body, /<b>OAuth settings saved\.<\/b>/);
    assert.deepEqual(await row(web.id), { ...(await row(web.id)), redirect_uris: '["https://rp.example/new","https://rp.example/other"]', grant_types: '["authorization_code","refresh_token"]' });
    const params = { response_type: 'code', client_id: web.id, scope: 'groupinfo.read', state: 's' };
    const old = await alice.get(authorizePath({ ...params, redirect_uri: REDIRECT }));
    assert.deepEqual([old.statusCode, old.headers.location], [400, undefined]);
    const fresh = await alice.get(authorizePath({ ...params, redirect_uri: 'https://rp.example/new' }));
    assert.equal(fresh.statusCode, 200, 'the consent page, for the new redirect URI');
  });

  test('the rules of registration apply, and a refused change writes nothing', async () => {
    const web = await register('Strict');
    const before = await row(web.id);
    const cases: [Record<string, string | string[]>, string][] = [
      [{ redirectUris: 'http://rp.example/cb' }, 'redirectUris: "http://rp.example/cb" must use https (http only for loopback addresses)'],
      [{ redirectUris: 'https://rp.example/cb#x' }, 'redirectUris: "https://rp.example/cb#x" must not contain a fragment'],
      [{ redirectUris: 'not a uri' }, 'redirectUris: "not" is not an absolute URI'],
      [{ grantTypes: 'password' }, 'grantTypes: "password" is not a supported grant type'],
      [{ clientType: 'public', grantTypes: ['authorization_code', 'client_credentials'] }, 'grantTypes: public clients cannot use client_credentials'],
      [{ clientType: 'secretive' }, 'clientType: must be confidential or public'],
    ];
    for (const [values, message] of cases) {
      const res = await settings(web.id, { clientType: 'confidential', redirectUris: REDIRECT, ...values });
      refused(res, 400, message);
      assert.match(res.body, /<h1>OAuth settings of Strict<\/h1>/, 'the form again, with the error');
    }
    assert.deepEqual(await row(web.id), before);
  });

  test('removing a grant type refuses it at the token endpoint', async () => {
    const machine = await register('Machine');
    assert.equal((await clientCredentials(machine.id, machine.secret)).statusCode, 200);
    assert.equal((await settings(machine.id, { clientType: 'confidential', redirectUris: REDIRECT, grantTypes: ['authorization_code'] })).statusCode, 200);
    const res = await clientCredentials(machine.id, machine.secret);
    assert.deepEqual([res.statusCode, res.json()], [400, { error: 'unauthorized_client', error_description: 'this client may not use the client_credentials grant' }]);
  });

  test("a client-credentials token is active while its client may use the grant, and revocable on its own", async () => {
    const machine = await register('Machine two');
    const [a, b] = await Promise.all([clientCredentials(machine.id, machine.secret), clientCredentials(machine.id, machine.secret)]);
    const [tokenA, tokenB] = [a.json().access_token as string, b.json().access_token as string];
    const claims = JSON.parse(Buffer.from(tokenA.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    assert.deepEqual([claims.sub, claims.client_id, 'gid' in claims], [machine.id, machine.id, false], 'the grant is the client itself: no family');
    assert.equal((await introspect(t.app, machine, tokenA)).active, true);
    const revoke = await t.app.inject({ method: 'POST', url: '/oauth/revoke', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(machine.id, machine.secret) }, payload: `token=${tokenA}` });
    assert.equal(revoke.statusCode, 200);
    assert.deepEqual(await introspect(t.app, machine, tokenA), { active: false });
    assert.equal((await introspect(t.app, machine, tokenB)).active, true, 'the other token is untouched');
    // A rotated secret stops the tokens obtained with the old one.
    await dev.get(`/connectors/${machine.id}`);
    const rotated = await dev.follow(await dev.post(`/connectors/${machine.id}/rotate`, {}));
    const secret = /id="connector-secret">([^<]+)</.exec(rotated.body)![1]!;
    const current = { id: machine.id, secret };
    assert.deepEqual(await introspect(t.app, current, tokenB), { active: false }, 'obtained with the old secret');
    const tokenC = (await clientCredentials(machine.id, secret)).json().access_token as string;
    assert.equal((await introspect(t.app, current, tokenC)).active, true);
    // Other changes of the settings leave the tokens alone.
    const all = ['authorization_code', 'refresh_token', 'client_credentials'];
    assert.equal((await settings(machine.id, { clientType: 'confidential', redirectUris: `${REDIRECT}\nhttps://rp.example/other`, grantTypes: all })).statusCode, 200);
    assert.equal((await introspect(t.app, current, tokenC)).active, true);
    assert.equal((await settings(machine.id, { clientType: 'confidential', redirectUris: REDIRECT, grantTypes: ['authorization_code'] })).statusCode, 200);
    assert.deepEqual(await introspect(t.app, current, tokenC), { active: false }, 'no longer allowed the grant: its tokens stop');
    // Given the grant type back, the client gets new tokens; the ones from before stay stopped.
    assert.equal((await settings(machine.id, { clientType: 'confidential', redirectUris: REDIRECT, grantTypes: all })).statusCode, 200);
    assert.deepEqual(await introspect(t.app, current, tokenC), { active: false }, 'not revived by the grant type coming back');
    const tokenD = (await clientCredentials(machine.id, secret)).json().access_token as string;
    assert.equal((await introspect(t.app, current, tokenD)).active, true);
  });

  test('switching to public drops the secret and revokes OAuth grants; switching back shows a new secret once', async () => {
    const app: OAuthClientReg = await register('App');
    const c = await codeFor(alice, app.id);
    const tokens = (await redeem(t.app, app, c.code, c.verifier)).json();
    const generation = (await row(app.id)).secret_generation;

    const toPublic = await settings(app.id, { clientType: 'public', redirectUris: REDIRECT });
    assert.equal(toPublic.statusCode, 200);
    assert.doesNotMatch(toPublic.body, /id="connector-secret"/);
    assert.deepEqual(await row(app.id), {
      client_type: 'public', redirect_uris: `["${REDIRECT}"]`, grant_types: '["authorization_code","refresh_token"]', secret_hash: '', secret_generation: generation + 1,
    });
    const old = await clientCredentials(app.id, app.secret);
    assert.deepEqual([old.statusCode, old.json()], [401, { error: 'invalid_client', error_description: 'client authentication failed' }]);
    const refresh = await tokenRequest(t.app, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: app.id });
    assert.deepEqual([refresh.statusCode, refresh.json()], [400, { error: 'invalid_grant', error_description: 'the refresh token has been revoked' }]);

    const back = await settings(app.id, { clientType: 'confidential', redirectUris: REDIRECT, grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'] });
    assert.equal(back.statusCode, 200);
    assert.match(back.body, /<b>OAuth settings saved: the connector is now a confidential client\. Copy the secret now: it is shown only once/);
    const secret = /id="connector-secret">([^<]+)</.exec(back.body)![1]!;
    assert.match(secret, /^tcs_[A-Za-z0-9_-]{43}$/);
    assert.equal((await clientCredentials(app.id, secret)).statusCode, 200);
    assert.ok(!(await dev.get(`/connectors/${app.id}`)).body.includes(secret), 'shown once');
  });

  test('the connector list narrows to one organisation with ?org=, which must be an ID', async () => {
    await register('Listed');
    const other = new PortalClient(t.app);
    await other.signup('other-dev@example.com', 'Other');
    await other.verifyPhone('+14155550177');
    const otherOrg = await other.createOrg('Elsewhere');
    assert.equal((await other.post(`/orgs/${otherOrg}/members`, { email: 'dev@example.com', role: 'admin' })).statusCode, 303);
    await other.createConnector(otherOrg, 'Foreign', ['groupinfo.read']);
    const names = (body: string) => [...body.matchAll(/<tr><td><a href="\/connectors\/[^"]+">([^<]+)<\/a><\/td><td>([^<]+)<\/td>/g)].map((m) => `${m[1]} (${m[2]})`);
    const all = names((await dev.get('/connectors')).body);
    assert.ok(all.includes('Listed (Contoso)') && all.includes('Foreign (Elsewhere)'), all.join(', '));
    assert.deepEqual(names((await dev.get(`/connectors?org=${otherOrg}`)).body), ['Foreign (Elsewhere)']);
    refused(await dev.get('/connectors?org=nope'), 400, 'org: must match format "uuid"');
  });

  test("only the organisation's owners and admins may change them; another organisation finds nothing; CSRF is required", async () => {
    const web = await register('Guarded');
    const before = await row(web.id);
    const member = new PortalClient(t.app);
    await member.signup('member@example.com', 'Member');
    assert.equal((await dev.post(`/orgs/${orgId}/members`, { email: 'member@example.com', role: 'member' })).statusCode, 303);
    await member.get('/connectors');
    refused(await member.post(`/connectors/${web.id}/oauth`, { clientType: 'public', redirectUris: REDIRECT }), 403, 'Only owners and admins of the organisation may manage its connectors');
    refused(await alice.post(`/connectors/${web.id}/oauth`, { clientType: 'public', redirectUris: REDIRECT }), 404, 'Connector not found');
    refused(await alice.get(`/connectors/${web.id}/oauth`), 404, 'Connector not found');
    refused(await dev.post(`/connectors/${web.id}/oauth`, { clientType: 'public', redirectUris: REDIRECT }, { csrf: null }), 403,
      'The form has expired or did not come from this site; reload the page and try again');
    assert.deepEqual(await row(web.id), before);
  });
});
