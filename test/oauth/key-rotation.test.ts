// Signing-key rotation (what `tessera keys rotate` does): tokens signed before and after a
// rotation both verify through the JWKS, which keeps publishing the retired key.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
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
});
