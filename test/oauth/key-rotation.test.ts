// Signing-key rotation (what `tessera keys rotate` does): tokens signed before and after a
// rotation both verify through the JWKS, which keeps publishing the retired key.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRemoteJWKSet, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { createListeningApp } from '../helpers/browser.js';
import type { TestApp } from '../helpers/app.js';
import { SigningKeys } from '../../src/keys/signing-keys.js';
import { basic, developer, type OAuthClientReg } from './helpers.js';

describe('signing-key rotation', () => {
  let t: TestApp & { url: string };
  let web: OAuthClientReg;
  let orgId: string;

  before(async () => {
    t = await createListeningApp();
    const d = await developer(t.app);
    orgId = d.orgId;
    web = await d.register('Web');
  });
  after(async () => { await t.close(); });

  const token = async (): Promise<string> => {
    const res = await fetch(`${t.url}/oauth/token`, {
      method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials', scope: `Org/${orgId}.groupinfo.read` }),
      headers: { authorization: basic(web.id, web.secret) },
    });
    assert.equal(res.status, 200);
    return ((await res.json()) as { access_token: string }).access_token;
  };

  test('tokens signed before and after a rotation both verify through the JWKS', async () => {
    const before = await token();
    const newKid = await t.services.deps.keys.rotate();
    const afterRotation = await token();
    assert.notEqual(decodeProtectedHeader(before).kid, decodeProtectedHeader(afterRotation).kid);
    assert.equal(decodeProtectedHeader(afterRotation).kid, newKid);
    const jwks = await (await fetch(`${t.url}/.well-known/jwks.json`)).json() as { keys: { kid: string }[] };
    assert.deepEqual(new Set(jwks.keys.map((k) => k.kid)), new Set([decodeProtectedHeader(before).kid, newKid]));
    // A fresh verifier, as a resource server that starts after the rotation would be.
    const remote = createRemoteJWKSet(new URL(`${t.url}/.well-known/jwks.json`));
    for (const jwt of [before, afterRotation]) {
      const { payload } = await jwtVerify(jwt, remote, { issuer: t.url, audience: t.url, typ: 'at+jwt' });
      assert.equal(payload.client_id, web.id);
    }
    // Tessera's own introspection accepts both too.
    for (const jwt of [before, afterRotation]) {
      const res = await fetch(`${t.url}/oauth/introspect`, { method: 'POST', body: new URLSearchParams({ token: jwt }), headers: { authorization: basic(web.id, web.secret) } });
      assert.equal(((await res.json()) as { active: boolean }).active, true);
    }
  });

  test('a rotation made by another process (the CLI) is picked up within a minute, and old tokens keep verifying', async () => {
    const before = await token();
    // `tessera keys rotate` opens its own SigningKeys on the same database.
    const cli = new SigningKeys(t.db.kysely, t.clock);
    await cli.init();
    const kid = await cli.rotate();
    t.clock.advance(61_000);
    const afterRotation = await token();
    assert.equal(decodeProtectedHeader(afterRotation).kid, kid);
    const remote = createRemoteJWKSet(new URL(`${t.url}/.well-known/jwks.json`));
    for (const jwt of [before, afterRotation]) await jwtVerify(jwt, remote, { issuer: t.url, typ: 'at+jwt' });
  });

  const published = async () => {
    const res = await fetch(`${t.url}/.well-known/jwks.json`);
    assert.equal(res.status, 200);
    return ((await res.json()) as { keys: Record<string, string>[] }).keys;
  };

  test('an instance that only verifies publishes a key rotated elsewhere within a minute, without signing anything', async () => {
    const cli = new SigningKeys(t.db.kysely, t.clock);
    await cli.init();
    const kid = await cli.rotate();
    t.clock.advance(61_000);
    assert.ok((await published()).some((k) => k.kid === kid), 'the rotated key is in the JWKS');
  });

  test('only the public members of a key are ever published', async () => {
    // A key stored by mistake with its private member in public_jwk.
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = await exportJWK(privateKey);
    const kid = '00000000-0000-7000-8000-000000000001';
    const now = t.clock.now();
    await t.db.kysely.insertInto('signing_keys').values({
      kid, alg: 'ES256', private_jwk: JSON.stringify(jwk), public_jwk: JSON.stringify({ ...jwk, kid, alg: 'ES256', use: 'sig' }),
      created_at: 0, retired_at: now, publish_until: now + 3600_000,
    }).execute();
    t.clock.advance(61_000);
    const key = (await published()).find((k) => k.kid === kid);
    assert.ok(key, 'the key is published');
    assert.deepEqual(Object.keys(key).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
  });
});
