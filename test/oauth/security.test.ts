// The security points of issue 3 (RFC 9700, RFC 6749 §10), one test each: exact redirect URI
// matching, PKCE downgrade, single-use short-lived bound codes, hashed storage, no-store, CSRF on
// log-in and consent, anti-framing headers, brute-force limits on client authentication, and
// organisation scopes granted only by owners and admins.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { PortalClient } from '../helpers/portal.js';
import { sha256 } from '../../src/lib/hash.js';
import {
  REDIRECT, authorizeAs, authorizePath, basic, codeFor, developer, introspect, pkce, query, redeem, tokenRequest, type OAuthClientReg,
} from './helpers.js';

describe('OAuth security', () => {
  let t: TestApp;
  let web: OAuthClientReg;
  let other: OAuthClientReg;
  let orgId: string;
  let dev: PortalClient;
  let alice: PortalClient;

  before(async () => {
    t = await createTestApp();
    const d = await developer(t.app);
    dev = d.dev;
    orgId = d.orgId;
    web = await d.register('Web');
    other = await d.register('Other', { redirectUris: ['https://other.example/cb'] });
    alice = new PortalClient(t.app);
    await alice.signup('alice@example.com', 'Alice');
  });
  after(async () => { await t.close(); });

  const params = (extra: Record<string, string> = {}) => ({ response_type: 'code', client_id: web.id, redirect_uri: REDIRECT, scope: 'groupinfo.read', state: 's', ...extra });

  test('redirect URIs match exactly: any variation gets the error page and no redirect', async () => {
    const variants = [`${REDIRECT}/`, `${REDIRECT}?x=1`, 'https://rp.example/Callback', 'http://rp.example/callback', 'https://sub.rp.example/callback',
      'https://rp.example/callback/../callback', 'https://rp.example:443/callback', `${REDIRECT}#frag`, 'https://rp.example.evil.example/callback', 'https://other.example/cb'];
    for (const redirect_uri of variants) {
      const res = await alice.get(authorizePath(params({ redirect_uri })));
      assert.equal(res.statusCode, 400, redirect_uri);
      assert.equal(res.headers.location, undefined, redirect_uri);
    }
  });

  test('registration refuses redirect URIs that are not https (except loopback) or carry a fragment', async () => {
    await dev.get('/connectors/new');
    for (const [uri, message] of <[string, string][]>[['http://rp.example/cb', '"http://rp.example/cb" must use https (http only for loopback addresses)'], ['https://rp.example/cb#x', '"https://rp.example/cb#x" must not contain a fragment']]) {
      const res = await dev.post('/connectors', { orgId, name: 'Bad', permissions: ['groupinfo.read'], clientType: 'confidential', redirectUris: uri });
      assert.equal(res.statusCode, 400);
      assert.ok(res.body.includes(`redirectUris: ${message}`.replace(/"/g, '&quot;')), res.body.slice(0, 2000));
    }
  });

  test('a public client is registered without a secret and cannot be given one', async () => {
    await dev.get('/connectors/new');
    const res = await dev.follow(await dev.post('/connectors', { orgId, name: 'Native', permissions: ['groupinfo.read'], clientType: 'public', redirectUris: 'com.example.app:/cb\nhttp://127.0.0.1:8123/cb' }));
    assert.equal(res.statusCode, 200);
    assert.ok(!res.body.includes('id="connector-secret"'));
    assert.ok(!res.body.includes('Rotate secret'));
    const id = /id="connector-id">([^<]+)</.exec(res.body)![1]!;
    const row = await t.db.kysely.selectFrom('connectors').select(['secret_hash', 'client_type', 'grant_types']).where('id', '=', id).executeTakeFirstOrThrow();
    assert.deepEqual(row, { secret_hash: '', client_type: 'public', grant_types: '["authorization_code","refresh_token"]' });
    const rotate = await dev.post(`/connectors/${id}/rotate`, {});
    assert.equal(rotate.statusCode, 400);
  });

  test('PKCE downgrade is refused: a verifier without a challenge, a missing verifier with a challenge', async () => {
    // Confidential clients may skip PKCE, but then no verifier may appear at the token endpoint.
    const loc = await authorizeAs(alice, params());
    const res = await redeem(t.app, web, query(loc).code!, pkce().verifier);
    assert.deepEqual(res.json(), { error: 'invalid_grant', error_description: 'code_verifier was sent but the authorization request had no code_challenge' });
    const c = await codeFor(alice, web.id);
    const missing = await tokenRequest(t.app, { grant_type: 'authorization_code', code: c.code, redirect_uri: REDIRECT }, { authorization: basic(web.id, web.secret) });
    assert.deepEqual(missing.json(), { error: 'invalid_grant', error_description: 'code_verifier: is required for this authorization code' });
    assert.equal((await redeem(t.app, web, c.code, c.verifier)).statusCode, 200);
  });

  test('a code is single use: the second redemption fails and revokes what the first one issued', async () => {
    const c = await codeFor(alice, web.id);
    const first = await redeem(t.app, web, c.code, c.verifier);
    assert.equal(first.statusCode, 200);
    const tokens = first.json();
    assert.equal((await introspect(t.app, web, tokens.access_token)).active, true);
    const second = await redeem(t.app, web, c.code, c.verifier);
    assert.deepEqual([second.statusCode, second.json()], [400, { error: 'invalid_grant', error_description: 'the authorization code has already been used; the tokens issued for it are revoked' }]);
    assert.deepEqual(await introspect(t.app, web, tokens.access_token), { active: false });
    const refresh = await tokenRequest(t.app, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token }, { authorization: basic(web.id, web.secret) });
    assert.deepEqual(refresh.json(), { error: 'invalid_grant', error_description: 'the refresh token has been revoked' });
  });

  test('two concurrent redemptions of one code: exactly one gets tokens', async () => {
    const c = await codeFor(alice, web.id);
    const results = await Promise.all([redeem(t.app, web, c.code, c.verifier), redeem(t.app, web, c.code, c.verifier)]);
    assert.deepEqual(results.map((r) => r.statusCode).sort(), [200, 400]);
  });

  test('a code lives one minute and is bound to its client', async () => {
    const c = await codeFor(alice, web.id);
    const stolen = await tokenRequest(t.app, { grant_type: 'authorization_code', code: c.code, redirect_uri: REDIRECT, code_verifier: c.verifier }, { authorization: basic(other.id, other.secret) });
    assert.deepEqual(stolen.json(), { error: 'invalid_grant', error_description: 'the authorization code is not valid' });
    t.clock.advance(60_001);
    assert.deepEqual((await redeem(t.app, web, c.code, c.verifier)).json(), { error: 'invalid_grant', error_description: 'the authorization code has expired' });
  });

  test('codes, refresh tokens and client secrets are stored only as hashes', async () => {
    const c = await codeFor(alice, web.id);
    const tokens = (await redeem(t.app, web, c.code, c.verifier)).json();
    const db = t.db.kysely;
    const dump = JSON.stringify(await Promise.all([
      db.selectFrom('oauth_codes').selectAll().execute(), db.selectFrom('oauth_refresh_links').selectAll().execute(),
      db.selectFrom('oauth_families').selectAll().execute(), db.selectFrom('connectors').selectAll().execute(),
      db.selectFrom('oauth_consents').selectAll().execute(), db.selectFrom('oauth_revoked_access_tokens').selectAll().execute(),
    ]));
    for (const secret of [c.code, tokens.refresh_token, tokens.access_token, web.secret, c.verifier]) assert.ok(!dump.includes(secret), 'a credential is stored in plain text');
    assert.ok(dump.includes(sha256(c.code)) && dump.includes(sha256(tokens.refresh_token)));
  });

  test('token, introspection and error responses carry Cache-Control: no-store', async () => {
    const ok = await tokenRequest(t.app, { grant_type: 'client_credentials', scope: `Org/${orgId}.groupinfo.read` }, { authorization: basic(web.id, web.secret) });
    const bad = await tokenRequest(t.app, { grant_type: 'client_credentials' }, { authorization: basic(web.id, 'nope') });
    const alias = await tokenRequest(t.app, { grant_type: 'client_credentials' }, { authorization: basic(web.id, web.secret) }, '/oauth/access_token');
    for (const res of [ok, bad, alias]) {
      assert.equal(res.headers['cache-control'], 'no-store');
      assert.equal(res.headers.pragma, 'no-cache');
    }
    // The Zaikio alias separates scopes with commas and names the bearer.
    assert.equal(alias.json().scope, ['groupinfo.read', 'textmessage.read', 'textmessage.write'].map((p) => `Org/${orgId}.${p}`).join(','));
    assert.deepEqual(alias.json().bearer, { id: orgId, type: 'Organization' });
  });

  test('consent and log-in forms refuse a missing or foreign CSRF token', async () => {
    const page = await alice.get(authorizePath(params({ prompt: 'consent' })));
    assert.equal(page.statusCode, 200);
    const form = { response_type: 'code', client_id: web.id, redirect_uri: REDIRECT, scope: 'groupinfo.read', state: 's', decision: 'allow' };
    const none = await alice.post('/oauth/consent', form, { csrf: null });
    assert.equal(none.statusCode, 403);
    assert.equal(none.headers.location, undefined);
    const mallory = new PortalClient(t.app);
    await mallory.get('/login');
    const foreign = await alice.post('/oauth/consent', form, { csrf: mallory.csrf });
    assert.equal(foreign.statusCode, 403);
    const login = await mallory.post('/login', { email: 'alice@example.com', password: 'correct horse battery' }, { csrf: null });
    assert.equal(login.statusCode, 403);
  });

  test('the consent and error pages cannot be framed and are not cached', async () => {
    const consent = await alice.get(authorizePath(params({ prompt: 'consent' })));
    const error = await alice.get(authorizePath(params({ redirect_uri: 'https://evil.example/' })));
    for (const res of [consent, error]) {
      assert.equal(res.headers['x-frame-options'], 'DENY');
      assert.match(String(res.headers['content-security-policy']), /frame-ancestors 'none'/);
      assert.equal(res.headers['cache-control'], 'no-store');
    }
  });

  test('client authentication is limited: after 20 failures even the right secret waits', async () => {
    const attempt = (secret: string) => tokenRequest(t.app, { grant_type: 'client_credentials' }, { authorization: basic(other.id, secret) });
    for (let i = 0; i < 20; i++) assert.equal((await attempt(`tcs_wrong_${i}`)).statusCode, 401);
    const limited = await attempt(other.secret);
    assert.deepEqual([limited.statusCode, limited.json()], [429, { error: 'invalid_client', error_description: 'too many client authentication attempts; try again later' }]);
    assert.ok(Number(limited.headers['retry-after']) > 0);
    t.clock.advance(5 * 60_000 + 1);
    assert.equal((await attempt(other.secret)).statusCode, 200);
  });

  test('an organisation-targeted scope is granted by its owner, and the token acts for the organisation', async () => {
    const { verifier, challenge } = pkce();
    const page = await dev.get(authorizePath(params({ scope: `Org/${orgId}.groupinfo.read`, code_challenge: challenge, code_challenge_method: 'S256' })));
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /<span class="tag">for Contoso<\/span>/);
    const loc = await authorizeAs(dev, params({ scope: `Org/${orgId}.groupinfo.read`, code_challenge: challenge, code_challenge_method: 'S256' }));
    const res = await redeem(t.app, web, query(loc).code!, verifier);
    assert.deepEqual(res.json().bearer, { id: orgId, type: 'Organization' });
    assert.equal(res.json().scope, `Org/${orgId}.groupinfo.read`);
  });
});
