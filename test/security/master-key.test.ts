// MASTER_KEY seals the private signing keys and the instance secrets at rest (src/keys/sealed.ts):
// nothing that signs tokens or forges forms is readable in the database; a database set up
// without the key is sealed when it first starts with one, and tokens signed before still verify;
// a sealed database refuses to start without its key or with another one.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { createTestApp, onPostgres, type TestApp } from '../helpers/app.js';
import { dropSchema } from '../../src/db/database.js';
import { loadConfig } from '../../src/config.js';
import { SigningKeys } from '../../src/keys/signing-keys.js';
import { Sealer } from '../../src/keys/sealed.js';
import { PortalClient, accessToken, seedConnectorFlow } from '../helpers/portal.js';

const KEY = randomBytes(32).toString('base64');
const OTHER = randomBytes(32).toString('hex');

describe(`MASTER_KEY on ${onPostgres() ? 'a PostgreSQL schema' : 'an SQLite file'}`, () => {
  const pg = onPostgres();
  const schema = pg ? `t_seal_${randomBytes(5).toString('hex')}` : undefined;
  const dir = pg ? undefined : mkdtempSync(join(tmpdir(), 'tessera-seal-'));
  const env: Record<string, string> = pg ? { DATABASE_SCHEMA: schema! } : { DATABASE_URL: `sqlite:${join(dir!, 'tessera.db')}` };
  let plain: TestApp | undefined;
  let sealed: TestApp | undefined;

  before(async () => {
    plain = await createTestApp(env);
  });
  after(async () => {
    await plain?.close();
    await sealed?.close();
    if (schema) await dropSchema(process.env.DATABASE_URL!, schema);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const stored = async (t: TestApp) => ({
    keys: await t.db.kysely.selectFrom('signing_keys').select(['kid', 'private_jwk']).execute(),
    settings: await t.db.kysely.selectFrom('settings').select(['key', 'value']).where('key', 'in', ['csrf_key', 'webhook_key']).orderBy('key').execute(),
  });

  test('a database set up without the key is sealed at its first start with one; tokens signed before still verify', async () => {
    const s = await seedConnectorFlow(plain!.app);
    const before = (await accessToken(plain!.app, s.connector, s.refreshToken)).json().accessToken as string;
    const open = await stored(plain!);
    assert.equal(open.keys.length, 1);
    assert.match(open.keys[0]!.private_jwk, /"d":"/, 'without MASTER_KEY the key is stored as it is');
    await plain!.close();
    plain = undefined;

    sealed = await createTestApp({ ...env, MASTER_KEY: KEY });
    const now = await stored(sealed);
    assert.equal(now.keys[0]!.kid, open.keys[0]!.kid);
    assert.match(now.keys[0]!.private_jwk, /^sealed:v1:[A-Za-z0-9_-]+$/);
    assert.deepEqual(now.settings.map((r) => r.key), ['csrf_key', 'webhook_key']);
    for (const r of now.settings) assert.match(r.value, /^sealed:v1:[A-Za-z0-9_-]+$/);
    // Nothing of the plaintext is left anywhere in those rows.
    const dump = JSON.stringify(now);
    for (const r of open.settings) assert.ok(!dump.includes(r.value), `${r.key} is readable`);
    assert.ok(!dump.includes(JSON.parse(open.keys[0]!.private_jwk).d), 'the private key is readable');

    // The same key signs and verifies: the token from before and a new one both verify.
    const jwks = createLocalJWKSet((await sealed.app.inject({ url: '/.well-known/jwks.json' })).json());
    const after = (await accessToken(sealed.app, s.connector, s.refreshToken)).json().accessToken as string;
    for (const token of [before, after]) assert.equal((await jwtVerify(token, jwks)).protectedHeader.kid, open.keys[0]!.kid);
    // The portal's CSRF key opened too: logging in and submitting a form work.
    const person = new PortalClient(sealed.app);
    await person.get('/login');
    assert.equal((await person.post('/login', { email: 'dev@example.com', password: 'correct horse battery' })).statusCode, 303);
    await person.get('/orgs');
    assert.equal((await person.post('/orgs', { name: 'Sealed Org' })).statusCode, 303);
  });

  test('a rotated key is sealed when it is written', async () => {
    const kid = await new SigningKeys(sealed!.db.kysely, sealed!.clock, { sealer: new Sealer(loadConfig({ MASTER_KEY: KEY }).masterKey) }).rotate();
    const row = (await stored(sealed!)).keys.find((k) => k.kid === kid)!;
    assert.match(row.private_jwk, /^sealed:v1:/);
  });

  test('a sealed database refuses to start without its key, or with another one', async () => {
    await sealed!.close();
    sealed = undefined;
    await assert.rejects(createTestApp(env), { name: 'SealError', message: /^signing_keys:[0-9a-f-]{36} is sealed: set MASTER_KEY to the key this database was set up with$/ });
    await assert.rejects(createTestApp({ ...env, MASTER_KEY: OTHER }), { name: 'SealError', message: /^MASTER_KEY does not open signing_keys:[0-9a-f-]{36}: it is not the key this database was sealed with$/ });
    sealed = await createTestApp({ ...env, MASTER_KEY: KEY });
    assert.equal((await sealed.app.inject({ url: '/readyz' })).statusCode, 200);
  });
});

test('MASTER_KEY must be 32 bytes in hex or base64', () => {
  assert.equal(loadConfig({}).masterKey, undefined);
  assert.equal(loadConfig({ MASTER_KEY: OTHER }).masterKey?.toString('hex'), OTHER);
  assert.deepEqual(loadConfig({ MASTER_KEY: KEY }).masterKey, Buffer.from(KEY, 'base64'));
  for (const bad of ['short', 'x'.repeat(64), randomBytes(16).toString('hex'), randomBytes(33).toString('base64')]) {
    assert.throws(() => loadConfig({ MASTER_KEY: bad }), { name: 'ConfigError', message: 'MASTER_KEY must be 32 random bytes, as 64 hex digits or 43 base64 characters (openssl rand -base64 32)' });
  }
});
