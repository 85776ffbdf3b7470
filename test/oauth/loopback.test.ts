// RFC 8252 §7.3: a native app's loopback redirect URI (http://127.0.0.1 or http://[::1]) is
// accepted with any port at authorization time; everything else about it, and every other
// redirect URI, must match exactly.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { PortalClient } from '../helpers/portal.js';
import { authorizeAs, authorizePath, developer, pkce, query, tokenRequest, type OAuthClientReg } from './helpers.js';

describe('loopback redirect URIs', () => {
  let t: TestApp;
  let native: OAuthClientReg;
  let alice: PortalClient;

  before(async () => {
    t = await createTestApp();
    const d = await developer(t.app);
    native = await d.register('Native', {
      type: 'public', redirectUris: ['http://127.0.0.1/callback', 'http://[::1]:8080/cb', 'http://localhost:3000/cb', 'https://rp.example/callback'],
    });
    alice = new PortalClient(t.app);
    await alice.signup('alice@example.com', 'Alice');
  });
  after(async () => { await t.close(); });

  const params = (redirect_uri: string, challenge: string) => ({
    response_type: 'code', client_id: native.id, redirect_uri, scope: 'groupinfo.read', state: 'st', code_challenge: challenge, code_challenge_method: 'S256',
  });

  test('any port of a registered 127.0.0.1 or [::1] redirect URI is accepted, and the code is bound to the URI used', async () => {
    for (const uri of ['http://127.0.0.1:51234/callback', 'http://127.0.0.1/callback', 'http://127.0.0.1:8080/callback', 'http://[::1]:9999/cb', 'http://[::1]/cb']) {
      const { verifier, challenge } = pkce();
      const location = await authorizeAs(alice, params(uri, challenge));
      assert.equal(location.split('?')[0], uri);
      const { code, state, iss } = query(location);
      assert.deepEqual([state, iss], ['st', t.config.publicUrl]);
      // The token request must name the very URI of the authorization request, port included.
      const other = await tokenRequest(t.app, { grant_type: 'authorization_code', code: code!, code_verifier: verifier, redirect_uri: 'http://127.0.0.1:1/callback', client_id: native.id });
      assert.deepEqual([other.statusCode, other.json()], [400, { error: 'invalid_grant', error_description: 'redirect_uri does not match the one of the authorization request' }]);
      const { verifier: v2, challenge: c2 } = pkce();
      const code2 = query(await authorizeAs(alice, params(uri, c2))).code!;
      const res = await tokenRequest(t.app, { grant_type: 'authorization_code', code: code2, code_verifier: v2, redirect_uri: uri, client_id: native.id });
      assert.equal(res.statusCode, 200, uri);
    }
  });

  test('everything else must match exactly: path, query, scheme, address, localhost ports, other hosts', async () => {
    const { challenge } = pkce();
    for (const uri of [
      'http://127.0.0.1:51234/callback/', 'http://127.0.0.1:51234/other', 'http://127.0.0.1:51234/callback?x=1', 'http://127.0.0.1:51234',
      'https://127.0.0.1:51234/callback', 'http://127.0.0.2:51234/callback', 'http://127.0.0.1:99999/callback', 'http://127.0.0.1:0/callback',
      'http://127.0.0.1:80@evil.example/callback', 'http://127.0.0.1.evil.example:5/callback', 'http://[::1]:9999/cb/x', 'http://[::2]:9999/cb',
      'http://localhost:3001/cb', 'http://localhost/cb', 'https://rp.example:8443/callback', 'http://rp.example:80/callback',
    ]) {
      const res = await alice.get(authorizePath(params(uri, challenge)));
      assert.deepEqual([res.statusCode, res.headers.location], [400, undefined], uri);
      assert.match(res.body, /The address the application wants to send you back to is not registered for it\./, uri);
    }
    // The registered localhost URI itself still works: exact matching.
    assert.equal(query(await authorizeAs(alice, params('http://localhost:3000/cb', challenge))).state, 'st');
  });
});
