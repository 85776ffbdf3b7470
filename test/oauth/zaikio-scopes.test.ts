// Zaikio's scope grammar, `[Org|Per[/uuid].]tessera.SCOPE.(r|w|rw)`, beside permission names: the
// authorization code flow and client credentials accept it, map it onto the connector's
// permissions (r → read; w → write, and remove for groupmember; rw → both), refuse what the
// connector does not hold, and keep organisation-targeted scopes to the organisation's owners
// and admins.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { PortalClient } from '../helpers/portal.js';
import { REDIRECT, authorizeAs, authorizePath, basic, developer, pkce, query, redeem, tokenRequest, type OAuthClientReg } from './helpers.js';

describe('Zaikio scope grammar', () => {
  let t: TestApp;
  let iss: string;
  let orgId: string;
  let dev: PortalClient;
  let alice: PortalClient;
  let web: OAuthClientReg;
  let members: OAuthClientReg;
  let managers: OAuthClientReg;

  before(async () => {
    t = await createTestApp();
    iss = t.config.publicUrl;
    const d = await developer(t.app);
    ({ dev, orgId } = d);
    web = await d.register('Web'); // groupinfo.read, textmessage.read, textmessage.write
    members = await d.register('Members', { permissions: ['groupmember.read', 'groupmember.write'] });
    managers = await d.register('Managers', { permissions: ['groupmember.read', 'groupmember.write', 'groupmember.remove'] });
    alice = new PortalClient(t.app);
    await alice.signup('alice@example.com', 'Alice');
    assert.equal((await dev.post(`/orgs/${orgId}/members`, { email: 'alice@example.com', role: 'member' })).statusCode, 303);
  });
  after(async () => { await t.close(); });

  const params = (client: OAuthClientReg, scope: string, challenge: string) => ({
    response_type: 'code', client_id: client.id, redirect_uri: REDIRECT, scope, state: 'st', code_challenge: challenge, code_challenge_method: 'S256',
  });
  const tokensFor = async (who: PortalClient, client: OAuthClientReg, scope: string) => {
    const { verifier, challenge } = pkce();
    const loc = await authorizeAs(who, params(client, scope, challenge));
    const res = await redeem(t.app, client, query(loc).code!, verifier);
    assert.equal(res.statusCode, 200, res.body);
    return res.json();
  };
  const authorizeError = async (who: PortalClient, client: OAuthClientReg, scope: string) => query(await authorizeAs(who, params(client, scope, pkce().challenge)));

  test('a person grants tessera.SCOPE.PERM scopes; the consent page says what each stands for', async () => {
    const scope = 'openid tessera.groupinfo.r tessera.textmessage.rw';
    const page = await alice.get(authorizePath(params(web, scope, pkce().challenge)));
    assert.equal(page.statusCode, 200);
    const items = [...page.body.matchAll(/<li>(.*?)<\/li>/g)].map((m) => m[1]);
    assert.deepEqual(items, [
      'Know who you are (your Tessera account ID) <code>openid</code>',
      'Read group information and subgroups <code>tessera.groupinfo.r</code>',
      'Read text messages; Send text messages <code>tessera.textmessage.rw</code>',
    ]);
    const tokens = await tokensFor(alice, web, scope);
    assert.equal(tokens.scope, scope);
    assert.deepEqual(tokens.bearer, { id: (await t.db.kysely.selectFrom('users').select('id').where('email', '=', 'alice@example.com').executeTakeFirstOrThrow()).id, type: 'Person' });
  });

  test('w stands for write and remove for groupmember: granted only to a connector holding both', async () => {
    assert.equal((await tokensFor(alice, managers, 'tessera.groupmember.w')).scope, 'tessera.groupmember.w');
    assert.equal((await tokensFor(alice, members, 'tessera.groupmember.r')).scope, 'tessera.groupmember.r');
    assert.deepEqual(await authorizeError(alice, members, 'tessera.groupmember.rw'), {
      error: 'invalid_scope', error_description: 'the scope "tessera.groupmember.rw" is not one this client may request (it stands for groupmember.read and groupmember.write and groupmember.remove)', state: 'st', iss,
    });
  });

  test('a scope outside the connector\'s permissions, another app or an unknown family is invalid_scope', async () => {
    const cases: [string, string][] = [
      ['tessera.groupinfo.w', 'the scope "tessera.groupinfo.w" is not one this client may request (it stands for groupinfo.write)'],
      [`Org/${orgId}.tessera.groupmember.r`, `the scope "Org/${orgId}.tessera.groupmember.r" is not one this client may request (it stands for groupmember.read)`],
      ['directory.groupinfo.r', 'the scope "directory.groupinfo.r" is not one this client may request'],
      ['tessera.widgets.rw', 'the scope "tessera.widgets.rw" is not one this client may request'],
      ['tessera.groupinfo.read', 'the scope "tessera.groupinfo.read" is not one this client may request'],
    ];
    for (const [scope, description] of cases) {
      assert.deepEqual(await authorizeError(alice, web, scope), { error: 'invalid_scope', error_description: description, state: 'st', iss }, scope);
    }
  });

  test('Org/<uuid>.tessera.… is granted by an owner (the token acts for the organisation), refused to a plain member', async () => {
    const scope = `Org/${orgId}.tessera.groupinfo.r`;
    const page = await dev.get(authorizePath(params(web, scope, pkce().challenge)));
    assert.match(page.body, /<li>Read group information and subgroups <span class="tag">for Contoso<\/span> <code>Org\/[0-9a-f-]+\.tessera\.groupinfo\.r<\/code><\/li>/);
    const tokens = await tokensFor(dev, web, scope);
    assert.deepEqual([tokens.scope, tokens.bearer], [scope, { id: orgId, type: 'Organization' }]);
    assert.deepEqual(await authorizeError(alice, web, scope), {
      error: 'access_denied', error_description: `only an owner or admin of the organisation may grant "${scope}"`, state: 'st', iss,
    });
  });

  test('client credentials accept the grammar for the client\'s organisation only', async () => {
    const scope = `Org/${orgId}.tessera.textmessage.rw,Org/${orgId}.tessera.groupinfo.r`;
    const ok = await tokenRequest(t.app, { grant_type: 'client_credentials', scope }, { authorization: basic(web.id, web.secret) }, '/oauth/access_token');
    assert.equal(ok.statusCode, 200);
    assert.deepEqual([ok.json().scope, ok.json().bearer], [scope, { id: orgId, type: 'Organization' }]);
    const cases: [OAuthClientReg, string, string][] = [
      [web, 'tessera.groupinfo.r', `client credentials scopes must target the client's organisation: Org/${orgId}.tessera.groupinfo.r`],
      [web, 'Per.tessera.groupinfo.r', `client credentials scopes must target the client's organisation: Org/${orgId}.tessera.groupinfo.r`],
      [web, `Org/${orgId}.tessera.groupinfo.rw`, `the scope "Org/${orgId}.tessera.groupinfo.rw" is not one this client may request (it stands for groupinfo.read and groupinfo.write)`],
      [members, `Org/${orgId}.tessera.groupmember.w`, `the scope "Org/${orgId}.tessera.groupmember.w" is not one this client may request (it stands for groupmember.write and groupmember.remove)`],
    ];
    for (const [client, s, description] of cases) {
      const res = await tokenRequest(t.app, { grant_type: 'client_credentials', scope: s }, { authorization: basic(client.id, client.secret) });
      assert.deepEqual([res.statusCode, res.json()], [400, { error: 'invalid_scope', error_description: description }], s);
    }
  });

  test('discovery lists the Zaikio spellings beside the permission names', async () => {
    const meta = (await t.app.inject({ url: '/.well-known/openid-configuration' })).json();
    for (const s of ['groupinfo.read', 'tessera.groupinfo.r', 'tessera.groupinfo.w', 'tessera.groupinfo.rw', 'tessera.groupmember.w', 'tessera.webhook.rw']) {
      assert.ok(meta.scopes_supported.includes(s), s);
    }
  });
});
