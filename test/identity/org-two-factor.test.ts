// An organisation that requires two-factor authentication: only an owner with 2FA may switch it
// on; then a member without 2FA is sent to enrolment from its pages, cannot consent for it
// (access_denied at the redirect URI) nor make its private access tokens; its page names who is
// not compliant; once the member turns 2FA on, all of it works again.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { PortalClient } from '../helpers/portal.js';
import { authorizeAs, basic, developer, pkce, query, redeem, REDIRECT, tokenRequest, type OAuthClientReg } from '../oauth/helpers.js';
import { enrolTwoFactor } from './helpers.js';

describe('organisations that require two-factor authentication', () => {
  let t: TestApp;
  let owner: PortalClient;
  let orgId: string;
  let client: OAuthClientReg;
  let max: PortalClient;
  let oona: PortalClient;
  /** Max's refresh token for the organisation, granted before it required 2FA. */
  let maxRefresh = '';

  before(async () => {
    t = await createTestApp();
    const dev = await developer(t.app, 'olga@example.com');
    owner = dev.dev;
    orgId = dev.orgId;
    client = await dev.register('Org app', { permissions: ['groupinfo.read'] });
    max = new PortalClient(t.app);
    await max.signup('max@example.com', 'Max');
    oona = new PortalClient(t.app);
    await oona.signup('oona@example.com', 'Oona');
    await owner.get(`/orgs/${orgId}`);
    assert.equal((await owner.post(`/orgs/${orgId}/members`, { email: 'max@example.com', role: 'admin' })).statusCode, 303);
    assert.equal((await owner.post(`/orgs/${orgId}/members`, { email: 'oona@example.com', role: 'owner' })).statusCode, 303);
    const { verifier, challenge } = pkce();
    const code = query(await authorizeAs(max, { response_type: 'code', client_id: client.id, redirect_uri: REDIRECT, scope: `Org/${orgId}.groupinfo.read`, state: 'st', code_challenge: challenge, code_challenge_method: 'S256' })).code!;
    maxRefresh = (await redeem(t.app, client, code, verifier)).json().refresh_token as string;
    assert.ok(maxRefresh);
  });
  after(async () => { await t.close(); });

  test('only an owner who uses two-factor authentication may require it', async () => {
    await owner.get(`/orgs/${orgId}`);
    const refused = await owner.post(`/orgs/${orgId}/two-factor`, { required: 'yes' });
    assert.equal(refused.statusCode, 409);
    assert.match(refused.body, /Turn on two-factor authentication for your own account first/);
    await max.get(`/orgs/${orgId}`);
    assert.equal((await max.post(`/orgs/${orgId}/two-factor`, { required: 'yes' })).statusCode, 403, 'an admin may not');
    await enrolTwoFactor(owner, t.clock);
    await owner.get(`/orgs/${orgId}`);
    const on = await owner.post(`/orgs/${orgId}/two-factor`, { required: 'yes' });
    assert.equal(on.statusCode, 303);
    const page = await owner.follow(on);
    assert.match(page.body, /<span class="tag ok">required<\/span>/);
    assert.deepEqual([...page.body.matchAll(/<span class="not-compliant">([^<]+)<\/span>/g)].map((m) => m[1]), ['Max (max@example.com)', 'Oona (oona@example.com)']);
  });

  test('a member without it is sent to enrolment, cannot consent for the organisation nor make its tokens', async () => {
    const page = await max.get(`/orgs/${orgId}`);
    assert.deepEqual([page.statusCode, page.headers.location], [303, '/account#two-factor']);
    assert.match((await max.follow(page)).body, /Contoso requires two-factor authentication: turn it on under Account to act for it/);

    const { challenge } = pkce();
    const params = { response_type: 'code', client_id: client.id, redirect_uri: REDIRECT, scope: `Org/${orgId}.groupinfo.read`, state: 'st', code_challenge: challenge, code_challenge_method: 'S256' };
    const denied = query(await authorizeAs(max, params));
    assert.deepEqual([denied.error, denied.error_description], ['access_denied', `the organisation requires two-factor authentication, which the person has not turned on ("Org/${orgId}.groupinfo.read")`]);

    const tokens = await oona.get(`/orgs/${orgId}/private-tokens`);
    assert.deepEqual([tokens.statusCode, tokens.headers.location], [303, '/account#two-factor']);
    await oona.get('/account');
    const made = await oona.post(`/orgs/${orgId}/private-tokens`, { name: 'x', scopes: ['directory.organization.r'], lifetime_days: '30' });
    assert.equal(made.statusCode, 403);
    assert.match(made.body, /Contoso requires two-factor authentication: turn it on under Account to act for it/);
    assert.equal((await t.db.kysely.selectFrom('private_access_tokens').selectAll().execute()).length, 0);

    // A grant Max made before keeps nothing: its refresh is refused and the grant revoked.
    const refreshed = await tokenRequest(t.app, { grant_type: 'refresh_token', refresh_token: maxRefresh }, { authorization: basic(client.id, client.secret) });
    assert.deepEqual([refreshed.statusCode, refreshed.json().error], [400, 'invalid_grant']);

    // The owner with 2FA consents and makes tokens as before.
    assert.ok(query(await authorizeAs(owner, params)).code);
  });

  test('once the member turns it on, the organisation is theirs to act for again', async () => {
    await enrolTwoFactor(max, t.clock);
    assert.equal((await max.get(`/orgs/${orgId}`)).statusCode, 200);
    const { challenge } = pkce();
    const loc = query(await authorizeAs(max, { response_type: 'code', client_id: client.id, redirect_uri: REDIRECT, scope: `Org/${orgId}.groupinfo.read`, state: 'st', code_challenge: challenge, code_challenge_method: 'S256' }));
    assert.ok(loc.code);
    const page = await owner.get(`/orgs/${orgId}`);
    assert.deepEqual([...page.body.matchAll(/<span class="not-compliant">([^<]+)<\/span>/g)].map((m) => m[1]), ['Oona (oona@example.com)']);
  });
});
