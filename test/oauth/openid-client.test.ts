// openid-client v6 (a certified relying-party library), unmodified, against a Tessera listening on
// a real socket: discovery, the authorization code flow with PKCE driven through the real log-in
// and consent pages, refresh, userinfo, introspection, revocation and client credentials. Access
// tokens are verified with jose's createRemoteJWKSet, as any resource server would.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { createListeningApp } from '../helpers/browser.js';
import type { TestApp } from '../helpers/app.js';
import { PortalClient } from '../helpers/portal.js';
import { Browser, developer, REDIRECT, type OAuthClientReg } from './helpers.js';

const ALICE = { email: 'alice@example.com', password: 'alice password 1' };

describe('openid-client against a running Tessera', () => {
  let t: TestApp & { url: string };
  let web: OAuthClientReg;
  let mobile: OAuthClientReg;
  let orgId: string;
  let aliceId: string;

  before(async () => {
    t = await createListeningApp();
    const d = await developer(t.app);
    orgId = d.orgId;
    web = await d.register('Inventory web');
    mobile = await d.register('Inventory mobile', { type: 'public' });
    const alice = new PortalClient(t.app);
    await alice.signup(ALICE.email, 'Alice Example', ALICE.password);
    aliceId = (await t.db.kysely.selectFrom('users').select('id').where('email', '=', ALICE.email).executeTakeFirstOrThrow()).id;
  });
  after(async () => { await t.close(); });

  const discover = (reg: OAuthClientReg, auth?: client.ClientAuth) =>
    client.discovery(new URL(t.url), reg.id, reg.secret || undefined, auth, { execute: [client.allowInsecureRequests] });

  test('discovery serves the same metadata at both well-known addresses, pointing at the JWKS', async () => {
    const config = await discover(web);
    const meta = config.serverMetadata();
    assert.equal(meta.issuer, t.url);
    assert.equal(meta.jwks_uri, `${t.url}/.well-known/jwks.json`);
    assert.deepEqual(meta.code_challenge_methods_supported, ['S256']);
    assert.equal(meta.token_endpoint, `${t.url}/oauth/token`);
    const rfc8414 = await (await fetch(`${t.url}/.well-known/oauth-authorization-server`)).json();
    const oidc = await (await fetch(`${t.url}/.well-known/openid-configuration`)).json();
    assert.deepEqual(rfc8414, oidc);
  });

  test('authorization code with PKCE through the log-in and consent pages, then refresh, userinfo, introspection and revocation', async () => {
    const config = await discover(web, client.ClientSecretBasic(web.secret));
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT, scope: 'openid profile email groupinfo.read', state, nonce,
      code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    const browser = new Browser(t.url);
    const callback = await browser.authorize(url.href, ALICE);
    assert.equal(callback.origin + callback.pathname, REDIRECT);
    assert.equal(callback.searchParams.get('iss'), t.url);

    const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true });
    assert.equal(tokens.token_type, 'bearer');
    assert.equal(tokens.scope, 'openid profile email groupinfo.read');
    assert.equal(tokens.expires_in, 3600);
    assert.ok(tokens.refresh_token?.startsWith('tor_'));
    const claims = tokens.claims()!;
    assert.equal(claims.sub, aliceId);
    assert.equal(claims.aud, web.id);
    assert.equal(claims.nonce, nonce);

    // A resource server verifies the access token offline through the JWKS (RFC 9068).
    const jwks = createRemoteJWKSet(new URL(`${t.url}/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(tokens.access_token, jwks, { issuer: t.url, audience: t.url, typ: 'at+jwt' });
    assert.equal(protectedHeader.typ, 'at+jwt');
    assert.equal(payload.sub, aliceId);
    assert.equal(payload.client_id, web.id);
    assert.equal(payload.scope, 'openid profile email groupinfo.read');
    assert.ok(typeof payload.jti === 'string' && typeof payload.exp === 'number');

    const info = await client.fetchUserInfo(config, tokens.access_token, aliceId);
    assert.deepEqual(info, { sub: aliceId, name: 'Alice Example', email: ALICE.email, email_verified: false });

    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
    await jwtVerify(refreshed.access_token, jwks, { issuer: t.url, typ: 'at+jwt' });

    const active = await client.tokenIntrospection(config, refreshed.access_token);
    assert.equal(active.active, true);
    assert.equal(active.sub, aliceId);
    assert.equal(active.client_id, web.id);
    assert.equal(active.scope, 'openid profile email groupinfo.read');

    // Revoking the refresh token revokes the grant: its access tokens go inactive too (RFC 7009 §2.1).
    await client.tokenRevocation(config, refreshed.refresh_token!);
    assert.deepEqual(await client.tokenIntrospection(config, refreshed.access_token), { active: false });
    await assert.rejects(client.refreshTokenGrant(config, refreshed.refresh_token!), (err: client.ResponseBodyError) => err.error === 'invalid_grant');
    await assert.rejects(client.fetchUserInfo(config, refreshed.access_token, aliceId));

    // Consent is remembered: the second authorization goes straight back to the client.
    const again = await browser.follow(client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT, scope: 'openid groupinfo.read', state,
      code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    }).href);
    assert.equal(again.status, 303);
    assert.ok(again.location!.startsWith(`${REDIRECT}?code=toc_`));
  });

  test('revoking one access token leaves the rest of the grant working', async () => {
    const config = await discover(web);
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'groupinfo.read', state: 's1', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    const browser = new Browser(t.url);
    const tokens = await client.authorizationCodeGrant(config, await browser.authorize(url.href, ALICE), { pkceCodeVerifier: verifier, expectedState: 's1' });
    await client.tokenRevocation(config, tokens.access_token, { token_type_hint: 'access_token' });
    assert.deepEqual(await client.tokenIntrospection(config, tokens.access_token), { active: false });
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    assert.equal((await client.tokenIntrospection(config, refreshed.access_token)).active, true);
  });

  test('a public client uses PKCE and no secret (token_endpoint_auth_method none)', async () => {
    const config = await discover(mobile, client.None());
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT, scope: 'openid groupinfo.read', state: 'm1',
      code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    const browser = new Browser(t.url);
    const tokens = await client.authorizationCodeGrant(config, await browser.authorize(url.href, ALICE), { pkceCodeVerifier: verifier, expectedState: 'm1' });
    assert.equal(tokens.claims()!.sub, aliceId);
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    assert.ok(refreshed.access_token);
  });

  test('client credentials give the client a token for its own organisation', async () => {
    const config = await discover(web);
    const tokens = await client.clientCredentialsGrant(config, { scope: `Org/${orgId}.groupinfo.read` });
    assert.equal(tokens.refresh_token, undefined);
    assert.equal(tokens.scope, `Org/${orgId}.groupinfo.read`);
    assert.deepEqual((tokens as unknown as { bearer: unknown }).bearer, { id: orgId, type: 'Organization' });
    const jwks = createRemoteJWKSet(new URL(`${t.url}/.well-known/jwks.json`));
    const { payload } = await jwtVerify(tokens.access_token, jwks, { issuer: t.url, typ: 'at+jwt' });
    assert.equal(payload.sub, web.id);
    assert.equal(decodeProtectedHeader(tokens.access_token).alg, 'ES256');
    const intro = await client.tokenIntrospection(config, tokens.access_token);
    assert.equal(intro.active, true);
    assert.equal(intro.sub, web.id);
  });
});
