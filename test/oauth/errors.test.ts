// Every error of RFC 6749 §4.1.2.1 (authorization endpoint, back to the redirect URI) and §5.2
// (token endpoint, JSON) that applies to Tessera, with exact status and body. server_error and
// temporarily_unavailable are not provoked: the first is the catch-all of the serializer, the
// second is never answered.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { PortalClient } from '../helpers/portal.js';
import {
  REDIRECT, authorizeAs, authorizePath, basic, codeFor, developer, pkce, query, redeem, tokenRequest, type OAuthClientReg,
} from './helpers.js';

describe('OAuth errors', () => {
  let t: TestApp;
  let iss: string;
  let web: OAuthClientReg;
  let mobile: OAuthClientReg;
  let machine: OAuthClientReg;
  let codeOnly: OAuthClientReg;
  let orgId: string;
  let alice: PortalClient;

  before(async () => {
    t = await createTestApp();
    iss = t.config.publicUrl;
    const d = await developer(t.app);
    orgId = d.orgId;
    web = await d.register('Web');
    mobile = await d.register('Mobile', { type: 'public' });
    machine = await d.register('Machine', { grantTypes: ['client_credentials'] });
    codeOnly = await d.register('Code only', { grantTypes: ['authorization_code'] });
    alice = new PortalClient(t.app);
    await alice.signup('alice@example.com', 'Alice');
  });
  after(async () => { await t.close(); });

  const base = (clientId = web.id) => ({ response_type: 'code', client_id: clientId, redirect_uri: REDIRECT, scope: 'groupinfo.read', state: 'xyz' });
  const redirected = (error: string, description: string) => ({ error, error_description: description, state: 'xyz', iss });

  describe('authorization endpoint (RFC 6749 §4.1.2.1), answered at the redirect URI', () => {
    const cases: [string, Record<string, string>, string, string][] = [
      ['a missing response_type is invalid_request', { response_type: '' }, 'invalid_request', 'response_type: is required'],
      ['response_type=token is unsupported_response_type', { response_type: 'token' }, 'unsupported_response_type', 'only response_type=code is supported'],
      ['an unknown scope is invalid_scope', { scope: 'groupinfo.read admin.everything' }, 'invalid_scope', 'the scope "admin.everything" is not one this client may request'],
      ['a permission the connector was not given is invalid_scope', { scope: 'groupmember.remove' }, 'invalid_scope', 'the scope "groupmember.remove" is not one this client may request'],
      ['PKCE plain is refused as invalid_request', { code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' }, 'invalid_request', 'code_challenge_method: only S256 is supported'],
      ['a malformed code_challenge is invalid_request', { code_challenge: 'short', code_challenge_method: 'S256' }, 'invalid_request', 'code_challenge: must be the base64url SHA-256 of the code_verifier (43 characters)'],
      ['an unknown prompt is invalid_request', { prompt: 'bogus' }, 'invalid_request', 'prompt: "bogus" is not supported'],
      ['prompt=none with another value is invalid_request', { prompt: 'none login' }, 'invalid_request', 'prompt: none cannot be combined with other values'],
      ['a max_age that is not a whole number of seconds is invalid_request', { max_age: '-1' }, 'invalid_request', 'max_age: must be a whole number of seconds'],
      ['a max_age in exponent notation is invalid_request', { max_age: '1e3' }, 'invalid_request', 'max_age: must be a whole number of seconds'],
    ];
    for (const [name, override, error, description] of cases) {
      test(name, async () => {
        const params = { ...base(), ...override };
        if (override.response_type === '') delete (params as Record<string, string>).response_type;
        const res = await alice.get(authorizePath(params));
        assert.equal(res.statusCode, 303);
        assert.deepEqual(query(res.headers.location as string), redirected(error, description));
      });
    }

    test('a public client without PKCE is invalid_request', async () => {
      const res = await alice.get(authorizePath(base(mobile.id)));
      assert.deepEqual(query(res.headers.location as string), redirected('invalid_request', 'code_challenge: is required for public clients (PKCE, RFC 7636)'));
    });

    test('a repeated parameter is invalid_request (RFC 6749 §3.1)', async () => {
      const res = await alice.get(`${authorizePath(base())}&scope=groupinfo.read`);
      assert.deepEqual(query(res.headers.location as string), redirected('invalid_request', 'scope: must be given once'));
    });

    test('a client not registered for the code flow is unauthorized_client', async () => {
      const res = await alice.get(authorizePath(base(machine.id)));
      assert.deepEqual(query(res.headers.location as string), redirected('unauthorized_client', 'this client may not use the authorization code flow'));
    });

    test('the person denying consent is access_denied', async () => {
      const loc = await authorizeAs(alice, base(), 'deny');
      assert.deepEqual(query(loc), redirected('access_denied', 'the person denied the request'));
    });

    test('an organisation scope asked of someone who is not its owner or admin is access_denied', async () => {
      const res = await alice.get(authorizePath({ ...base(), scope: `Org/${orgId}.groupinfo.read` }));
      assert.deepEqual(query(res.headers.location as string), redirected('access_denied', `only an owner or admin of the organisation may grant "Org/${orgId}.groupinfo.read"`));
    });

    test('a person-targeted scope naming someone else is access_denied', async () => {
      const other = '00000000-0000-4000-8000-000000000001';
      const res = await alice.get(authorizePath({ ...base(), scope: `Per/${other}.groupinfo.read` }));
      assert.deepEqual(query(res.headers.location as string), redirected('access_denied', `the scope "Per/${other}.groupinfo.read" names another person`));
    });

    test('prompt=none answers login_required without a session and consent_required without consent (OpenID Connect Core §3.1.2.6)', async () => {
      const anonymous = new PortalClient(t.app);
      const res = await anonymous.get(authorizePath({ ...base(), prompt: 'none' }));
      assert.deepEqual(query(res.headers.location as string), redirected('login_required', 'the person is not logged in'));
      const fresh = new PortalClient(t.app);
      await fresh.signup('bob@example.com', 'Bob');
      const res2 = await fresh.get(authorizePath({ ...base(), prompt: 'none' }));
      assert.deepEqual(query(res2.headers.location as string), redirected('consent_required', 'the person has not consented to this request'));
    });

    test('an unknown client, a missing or unregistered redirect URI get an error page, never a redirect', async () => {
      const cases: [Record<string, string>, string][] = [
        [{ ...base(), client_id: '00000000-0000-4000-8000-000000000000' }, 'The application that sent you here is not registered with Tessera.'],
        [{ ...base(), client_id: '' }, 'The request does not name a client (client_id is missing).'],
        [{ ...base(), redirect_uri: '' }, 'The request does not say where to send you back (redirect_uri is missing).'],
        [{ ...base(), redirect_uri: 'https://evil.example/callback' }, 'The address the application wants to send you back to is not registered for it.'],
      ];
      for (const [params, message] of cases) {
        const res = await alice.get(authorizePath(params));
        assert.equal(res.statusCode, 400);
        assert.equal(res.headers.location, undefined);
        assert.match(res.body, new RegExp(`<div class="error" role="alert">${message.replace(/[.()]/g, '\\$&')}</div>`));
      }
    });
  });

  describe('token endpoint (RFC 6749 §5.2), JSON with no-store', () => {
    const expectError = async (res: Awaited<ReturnType<typeof tokenRequest>>, status: number, error: string, description: string) => {
      assert.deepEqual([res.statusCode, res.json()], [status, { error, error_description: description }]);
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.match(String(res.headers['content-type']), /^application\/json/);
    };
    const auth = () => ({ authorization: basic(web.id, web.secret) });

    test('invalid_request: a missing grant_type, a missing code, two authentication methods, a repeated parameter', async () => {
      await expectError(await tokenRequest(t.app, {}, auth()), 400, 'invalid_request', 'grant_type: is required');
      await expectError(await tokenRequest(t.app, { grant_type: 'authorization_code', redirect_uri: REDIRECT }, auth()), 400, 'invalid_request', 'code: is required');
      await expectError(await tokenRequest(t.app, { grant_type: 'authorization_code', code: 'x', redirect_uri: REDIRECT, client_secret: web.secret }, auth()), 400, 'invalid_request', 'use only one client authentication method');
      const repeated = await t.app.inject({ method: 'POST', url: '/oauth/token', payload: 'grant_type=client_credentials&grant_type=client_credentials', headers: { 'content-type': 'application/x-www-form-urlencoded', ...auth() } });
      await expectError(repeated, 400, 'invalid_request', 'grant_type: must be string');
    });

    test('invalid_client: a wrong secret (with WWW-Authenticate for Basic), an unknown client, none at all, a confidential client without its secret', async () => {
      const wrong = await tokenRequest(t.app, { grant_type: 'client_credentials' }, { authorization: basic(web.id, 'tcs_wrong') });
      await expectError(wrong, 401, 'invalid_client', 'client authentication failed');
      assert.equal(wrong.headers['www-authenticate'], 'Basic realm="tessera", charset="UTF-8"');
      await expectError(await tokenRequest(t.app, { grant_type: 'client_credentials', client_id: 'nobody', client_secret: 'x' }), 401, 'invalid_client', 'client authentication failed');
      await expectError(await tokenRequest(t.app, { grant_type: 'client_credentials' }), 401, 'invalid_client', 'client authentication is required');
      await expectError(await tokenRequest(t.app, { grant_type: 'client_credentials', client_id: web.id }), 401, 'invalid_client', 'this client must authenticate with its secret');
      await expectError(await tokenRequest(t.app, { grant_type: 'refresh_token', refresh_token: 'x', client_id: mobile.id, client_secret: 'guess' }), 401, 'invalid_client', 'client authentication failed');
    });

    test('invalid_grant: an unknown code, another client\'s code, a wrong redirect URI, a wrong or missing verifier, an expired code', async () => {
      await expectError(await redeem(t.app, web, 'toc_nothing', pkce().verifier), 400, 'invalid_grant', 'the authorization code is not valid');
      const c1 = await codeFor(alice, web.id);
      await expectError(await tokenRequest(t.app, { grant_type: 'authorization_code', code: c1.code, redirect_uri: REDIRECT, code_verifier: c1.verifier }, { authorization: basic(machine.id, machine.secret) }),
        400, 'unauthorized_client', 'this client may not use the authorization_code grant');
      const other = await tokenRequest(t.app, { grant_type: 'authorization_code', code: c1.code, redirect_uri: REDIRECT, code_verifier: c1.verifier, client_id: mobile.id });
      await expectError(other, 400, 'invalid_grant', 'the authorization code is not valid');
      await expectError(await tokenRequest(t.app, { grant_type: 'authorization_code', code: c1.code, redirect_uri: `${REDIRECT}/`, code_verifier: c1.verifier }, auth()),
        400, 'invalid_grant', 'redirect_uri does not match the one of the authorization request');
      await expectError(await redeem(t.app, web, c1.code, pkce().verifier), 400, 'invalid_grant', 'code_verifier does not match the code_challenge');
      await expectError(await tokenRequest(t.app, { grant_type: 'authorization_code', code: c1.code, redirect_uri: REDIRECT }, auth()),
        400, 'invalid_grant', 'code_verifier: is required for this authorization code');
      await expectError(await redeem(t.app, web, c1.code, 'short'), 400, 'invalid_request', 'code_verifier: must be 43 to 128 characters of [A-Za-z0-9-._~] (RFC 7636 §4.1)');
      t.clock.advance(61_000);
      await expectError(await redeem(t.app, web, c1.code, c1.verifier), 400, 'invalid_grant', 'the authorization code has expired');
      await expectError(await tokenRequest(t.app, { grant_type: 'refresh_token', refresh_token: 'tor_nothing' }, auth()), 400, 'invalid_grant', 'the refresh token is not valid');
    });

    test('unauthorized_client: a grant the client is not registered for', async () => {
      await expectError(await tokenRequest(t.app, { grant_type: 'client_credentials' }, { authorization: basic(codeOnly.id, codeOnly.secret) }),
        400, 'unauthorized_client', 'this client may not use the client_credentials grant');
      await expectError(await tokenRequest(t.app, { grant_type: 'refresh_token', refresh_token: 'x' }, { authorization: basic(codeOnly.id, codeOnly.secret) }),
        400, 'unauthorized_client', 'this client may not use the refresh_token grant');
    });

    test('unsupported_grant_type: the password grant and anything unknown', async () => {
      await expectError(await tokenRequest(t.app, { grant_type: 'password', username: 'a', password: 'b' }, auth()), 400, 'unsupported_grant_type', 'grant_type "password" is not supported');
    });

    test('invalid_scope: client credentials without the organisation prefix, a scope it may not ask for, a refresh that widens the scope', async () => {
      await expectError(await tokenRequest(t.app, { grant_type: 'client_credentials', scope: 'groupinfo.read' }, auth()),
        400, 'invalid_scope', `client credentials scopes must target the client's organisation: Org/${orgId}.groupinfo.read`);
      await expectError(await tokenRequest(t.app, { grant_type: 'client_credentials', scope: `Org/${orgId}.groupmember.remove` }, auth()),
        400, 'invalid_scope', `the scope "Org/${orgId}.groupmember.remove" is not one this client may request`);
      await expectError(await tokenRequest(t.app, { grant_type: 'client_credentials', scope: 'openid' }, auth()),
        400, 'invalid_scope', 'the scope "openid" needs a person; client credentials have none');
      const c = await codeFor(alice, web.id, 'groupinfo.read');
      const tokens = (await redeem(t.app, web, c.code, c.verifier)).json();
      await expectError(await tokenRequest(t.app, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, scope: 'groupinfo.read textmessage.read' }, auth()),
        400, 'invalid_scope', 'the scope "textmessage.read" was not granted to this refresh token');
    });

    test('revocation answers unsupported_token_type for an unknown hint, and introspection needs client authentication', async () => {
      const rev = await t.app.inject({ method: 'POST', url: '/oauth/revoke', payload: 'token=x&token_type_hint=id_token', headers: { 'content-type': 'application/x-www-form-urlencoded', ...auth() } });
      assert.deepEqual([rev.statusCode, rev.json()], [400, { error: 'unsupported_token_type', error_description: 'token_type_hint "id_token" is not supported' }]);
      const intro = await t.app.inject({ method: 'POST', url: '/oauth/introspect', payload: 'token=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      assert.deepEqual([intro.statusCode, intro.json()], [401, { error: 'invalid_client', error_description: 'client authentication is required' }]);
      const userinfo = await t.app.inject({ method: 'GET', url: '/oauth/userinfo' });
      assert.deepEqual([userinfo.statusCode, userinfo.json()], [401, { error: 'invalid_token', error_description: 'send the access token as Authorization: Bearer' }]);
      assert.match(String(userinfo.headers['www-authenticate']), /^Bearer realm="tessera", error="invalid_token"/);
    });
  });
});
