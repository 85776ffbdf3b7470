// The white-label flow's failure paths and the remaining ways in, each with its exact answer: an
// unknown platform, another organisation's client, an unregistered redirect URI (pages, never a
// redirect); the organisation path refused to an admin and to a stranger (access_denied at the
// redirect URI); membership scopes outside a platform's URL; the platform app's client
// credentials on the Platform API; a person leaving in the portal.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { PortalClient } from '../helpers/portal.js';
import { basic, pkce, REDIRECT, tokenRequest } from '../oauth/helpers.js';
import { bearer, platformOwner, signUpMember, type PlatformSetup } from './helpers.js';

describe('white-label failure paths', () => {
  let t: TestApp;
  let acme: PlatformSetup;
  let globex: PlatformSetup;
  const { challenge } = pkce();
  const params = (scope: string, clientId: string, extra: Record<string, string> = {}) => new URLSearchParams({
    client_id: clientId, redirect_uri: REDIRECT, scope, state: 'st', code_challenge: challenge, code_challenge_method: 'S256', response_type: 'code', ...extra,
  }).toString();

  before(async () => {
    t = await createTestApp();
    acme = await platformOwner(t.app, 'acme');
    globex = await platformOwner(t.app, 'globex');
  });
  after(async () => { await t.close(); });

  const errorText = (body: string) => /<div class="error" role="alert">([^<]*)<\/div>/.exec(body)?.[1];

  test('an unknown platform, a foreign client or an unregistered redirect URI is a page in the platform\'s look, never a redirect', async () => {
    const p = new PortalClient(t.app);
    const unknown = await p.get(`/nobody/oauth/authorize?${params('directory.platform_membership.rw', acme.app.id)}`);
    assert.equal(unknown.statusCode, 404);
    assert.equal(errorText(unknown.body), 'There is no platform at this address.');

    const foreign = await p.get(`/acme/oauth/authorize?${params('directory.platform_membership.rw', globex.app.id)}`);
    assert.equal(foreign.statusCode, 400);
    assert.equal(errorText(foreign.body), 'This application may not use this sign-in page.');
    assert.match(foreign.body, /<div class="brandbig">[\s\S]*Acme Print<\/div>/);
    assert.match(foreign.body, /powered by Tessera/);

    const elsewhere = await p.get(`/acme/oauth/authorize?${params('directory.platform_membership.rw', acme.app.id, { redirect_uri: 'https://evil.example/cb' })}`);
    assert.equal(elsewhere.statusCode, 400);
    assert.equal(errorText(elsewhere.body), 'The address the application wants to send you back to is not registered for it.');

    // The same client at Tessera's own URL may not ask for a membership.
    const plain = await p.get(`/oauth/authorize?${params('directory.platform_membership.rw', acme.app.id)}`);
    assert.equal(plain.statusCode, 303);
    const loc = new URL(plain.headers.location as string);
    assert.equal(loc.searchParams.get('error'), 'invalid_scope');
    assert.equal(loc.searchParams.get('error_description'), 'the scope "directory.platform_membership.rw" is not one this client may request (only through a platform\'s own /{platform}/oauth/authorize)');
    assert.equal((await t.db.kysely.selectFrom('platform_members').selectAll().execute()).length, 0);
  });

  test('an organisation becomes a member only when an owner agrees; an admin or a stranger gets access_denied', async () => {
    const owner = new PortalClient(t.app);
    await owner.signup('olga@example.com', 'Olga Owner');
    const orgId = await owner.createOrg('Olga Prints');
    const admin = new PortalClient(t.app);
    await admin.signup('adam@example.com', 'Adam Admin');
    await owner.get(`/orgs/${orgId}`);
    assert.equal((await owner.post(`/orgs/${orgId}/members`, { email: 'adam@example.com', role: 'admin' })).statusCode, 303);
    const stranger = new PortalClient(t.app);
    await stranger.signup('sid@example.com', 'Sid Stranger');

    const scope = `Org/${orgId}.directory.platform_membership.rw`;
    for (const [who, description] of [
      [admin, `only an owner of the organisation may make it a member of the platform ("${scope}")`],
      [stranger, `only an owner of the organisation may make it a member of the platform ("${scope}")`],
    ] as const) {
      const res = await who.get(`/acme/oauth/authorize?${params(scope, acme.app.id)}`);
      assert.equal(res.statusCode, 303);
      const loc = new URL(res.headers.location as string);
      assert.equal(`${loc.origin}${loc.pathname}`, REDIRECT);
      assert.deepEqual([loc.searchParams.get('error'), loc.searchParams.get('error_description'), loc.searchParams.get('state')], ['access_denied', description, 'st']);
    }
    assert.equal((await t.db.kysely.selectFrom('platform_members').selectAll().execute()).length, 0, 'nothing written');

    const res = await owner.get(`/acme/oauth/authorize?${params(scope, acme.app.id)}`);
    assert.equal(res.statusCode, 200);
    assert.match(res.body, /action="\/acme\/oauth\/consent"/);
    assert.match(res.body, /Become a member of the platform <span class="tag">for Olga Prints<\/span>/);
    const fields = Object.fromEntries([...res.body.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)]
      .filter((m) => m[1] !== '_csrf').map((m) => [m[1]!, m[2]!.replace(/&amp;/g, '&').replace(/&#39;/g, "'")]));
    const denied = await owner.post('/acme/oauth/consent', { ...fields, decision: 'deny' });
    assert.equal(new URL(denied.headers.location as string).searchParams.get('error'), 'access_denied');
    assert.equal((await t.db.kysely.selectFrom('platform_members').selectAll().execute()).length, 0, 'denying writes nothing');
    const allowed = await owner.post('/acme/oauth/consent', { ...fields, decision: 'allow' });
    assert.ok(new URL(allowed.headers.location as string).searchParams.get('code'));
    // "Not you?" on the platform's pages logs out and comes back to the same request.
    const page = await owner.get(`/acme/oauth/authorize?${params(scope, acme.app.id, { prompt: 'consent' })}`);
    assert.match(page.body, /<form class="inline" method="post" action="\/acme\/logout">[^]*Signed in as olga@example.com <button class="secondary" type="submit">Not you\?<\/button><\/form>/);
    const here = /name="next" value="([^"]*)"/.exec(page.body.slice(page.body.indexOf('action="/acme/logout"')))![1]!.replace(/&amp;/g, '&');
    const out = await owner.post('/acme/logout', { next: here });
    assert.equal(out.statusCode, 303);
    assert.equal(out.headers.location, `/acme/login?next=${encodeURIComponent(here)}`);
    assert.equal((await owner.get(out.headers.location as string)).body.includes('Signed in as'), false);
    assert.deepEqual((await t.db.kysely.selectFrom('platform_members').select(['member_type', 'member_id', 'joined_via']).execute()), [{ member_type: 'Organization', member_id: orgId, joined_via: 'consent' }]);
  });

  test('the platform app\'s client credentials act for its owner on the Platform API; another app may not ask for directory.platform', async () => {
    const cc = await tokenRequest(t.app, { grant_type: 'client_credentials', scope: `Org/${acme.orgId}.directory.platform.rw` }, { authorization: basic(acme.app.id, acme.app.secret) }, '/acme/oauth/token');
    assert.equal(cc.statusCode, 200, cc.body);
    const platform = await t.app.inject({ url: '/api/v1/platforms/acme', headers: bearer(cc.json().access_token) });
    assert.equal(platform.statusCode, 200);
    // Introspection and revocation answer under the platform's address too.
    const auth = { authorization: basic(acme.app.id, acme.app.secret) };
    const active = await tokenRequest(t.app, { token: cc.json().access_token }, auth, '/acme/oauth/introspect');
    assert.deepEqual([active.statusCode, active.json().active, active.json().scope], [200, true, `Org/${acme.orgId}.directory.platform.rw`]);
    assert.equal((await tokenRequest(t.app, { token: cc.json().access_token }, auth, '/acme/oauth/revoke')).statusCode, 200);
    assert.deepEqual((await tokenRequest(t.app, { token: cc.json().access_token }, auth, '/acme/oauth/introspect')).json(), { active: false });
    const unknown = await tokenRequest(t.app, { token: 'x' }, auth, '/nobody/oauth/introspect');
    assert.deepEqual([unknown.statusCode, unknown.json().error], [404, 'invalid_request']);
    const other = await globex.register('not a platform app');
    const refused = await tokenRequest(t.app, { grant_type: 'client_credentials', scope: `Org/${globex.orgId}.directory.platform.rw` }, { authorization: basic(other.id, other.secret) });
    assert.deepEqual([refused.statusCode, refused.json()], [400, {
      error: 'invalid_scope', error_description: 'the scope "Org/' + globex.orgId + '.directory.platform.rw" is not one this client may request (only a platform owner\'s private access token or its platform app\'s client credentials)',
    }]);
  });

  test('a person leaves a platform in the portal: the membership ends and the app\'s grants for them are revoked', async () => {
    const { person, tokens } = await signUpMember(t.app, acme, { name: 'Lea Leaver', email: 'lea@example.com' });
    assert.equal((await t.app.inject({ url: '/api/v1/person', headers: bearer(tokens.access_token) })).statusCode, 200);

    const page = await person.get('/memberships');
    assert.match(page.body, /Acme Print <code>acme<\/code><\/td><td>you<\/td>/);
    const platformId = acme.platformId;
    const left = await person.post(`/memberships/${platformId}/Person/${tokens.bearer.id}/leave`, {});
    assert.equal(left.statusCode, 303);
    assert.match((await person.follow(left)).body, /You left Acme Print\./);
    assert.deepEqual((await t.app.inject({ url: '/api/v1/person', headers: bearer(tokens.access_token) })).json(), { errors: ['invalid_jwt'] });
    const refresh = await tokenRequest(t.app, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token }, { authorization: basic(acme.app.id, acme.app.secret) });
    assert.equal(refresh.json().error, 'invalid_grant');
    // Someone else's membership cannot be ended from their account.
    const other = new PortalClient(t.app);
    await other.signup('otto@example.com', 'Otto Other');
    await other.get('/memberships');
    const forged = await other.post(`/memberships/${platformId}/Person/${tokens.bearer.id}/leave`, {});
    assert.equal(forged.statusCode, 403);
    assert.equal(errorText(forged.body), 'Only the person, or an owner of the organisation, may end this membership');
  });
});
