// MASTER_KEY seals the private signing keys and the instance secrets at rest (src/keys/sealed.ts):
// nothing that signs tokens or forges forms is readable in the database; a database set up
// without the key is sealed when it first starts with one, and tokens signed before still verify;
// a sealed database refuses to start without its key or with another one; `tessera master-key
// rotate` moves everything under a new key and `remove` takes the key away, all or nothing.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { createTestApp, onPostgres, type TestApp } from '../helpers/app.js';
import { dropSchema, openDatabase } from '../../src/db/database.js';
import { loadConfig } from '../../src/config.js';
import { SigningKeys } from '../../src/keys/signing-keys.js';
import { Sealer } from '../../src/keys/sealed.js';
import { PortalClient, accessToken, seedConnectorFlow } from '../helpers/portal.js';
import { tesseraCommand } from '../helpers/command.js';

const KEY = randomBytes(32).toString('base64');
const OTHER = randomBytes(32).toString('hex');
const NEW = randomBytes(32).toString('base64url');

const run = promisify(execFile);
const masterKeyEntries = (app: TestApp) => app.db.kysely.selectFrom('audit_events').select(['actor_type', 'actor_id', 'action', 'org_id', 'summary'])
  .where('target_type', '=', 'master_key').orderBy('id').execute();
/** The tessera command; MASTER_KEY and NEW_MASTER_KEY only as given. */
const cli = (args: string[], env: Record<string, string>) =>
  run(process.execPath, [...tesseraCommand(), ...args], { env: { ...process.env, MASTER_KEY: '', NEW_MASTER_KEY: '', ...env } });
/** A failed run of the command: its exit status and standard error. */
const fails = (code: number, stderr: RegExp) => (err: { code: number; stderr: string }) => {
  assert.equal(err.code, code);
  assert.match(err.stderr, stderr);
  return true;
};

describe(`MASTER_KEY on ${onPostgres() ? 'a PostgreSQL schema' : 'an SQLite file'}`, () => {
  const pg = onPostgres();
  const schema = pg ? `t_seal_${randomBytes(5).toString('hex')}` : undefined;
  const dir = pg ? undefined : mkdtempSync(join(tmpdir(), 'tessera-seal-'));
  const env: Record<string, string> = pg ? { DATABASE_SCHEMA: schema! } : { DATABASE_URL: `sqlite:${join(dir!, 'tessera.db')}` };
  let plain: TestApp | undefined;
  let sealed: TestApp | undefined;
  // Signed before the database was sealed, and kept through every change of key below.
  let earlyToken = '';
  let kid = '';

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
    settings: await t.db.kysely.selectFrom('settings').select(['key', 'value']).where('key', 'in', ['csrf_key', 'federation_key', 'idempotency_key', 'webhook_key']).orderBy('key').execute(),
  });

  test('a database set up without the key is sealed at its first start with one; tokens signed before still verify', async () => {
    const s = await seedConnectorFlow(plain!.app);
    earlyToken = (await accessToken(plain!.app, s.connector, s.refreshToken)).json().accessToken as string;
    const open = await stored(plain!);
    kid = open.keys[0]!.kid;
    assert.equal(open.keys.length, 1);
    assert.match(open.keys[0]!.private_jwk, /"d":"/, 'without MASTER_KEY the key is stored as it is');
    await plain!.close();
    plain = undefined;

    sealed = await createTestApp({ ...env, MASTER_KEY: KEY });
    const now = await stored(sealed);
    assert.equal(now.keys[0]!.kid, open.keys[0]!.kid);
    assert.match(now.keys[0]!.private_jwk, /^sealed:v1:[A-Za-z0-9_-]+$/);
    assert.deepEqual(now.settings.map((r) => r.key), ['csrf_key', 'federation_key', 'idempotency_key', 'webhook_key']);
    for (const r of now.settings) assert.match(r.value, /^sealed:v1:[A-Za-z0-9_-]+$/);
    // Nothing of the plaintext is left anywhere in those rows.
    const dump = JSON.stringify(now);
    for (const r of open.settings) assert.ok(!dump.includes(r.value), `${r.key} is readable`);
    assert.ok(!dump.includes(JSON.parse(open.keys[0]!.private_jwk).d), 'the private key is readable');

    // The same key signs and verifies: the token from before and a new one both verify.
    const jwks = createLocalJWKSet((await sealed.app.inject({ url: '/.well-known/jwks.json' })).json());
    const after = (await accessToken(sealed.app, s.connector, s.refreshToken)).json().accessToken as string;
    for (const token of [earlyToken, after]) assert.equal((await jwtVerify(token, jwks)).protectedHeader.kid, open.keys[0]!.kid);
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

  /** The app works under this key: the old token verifies, a new one is issued, a form is accepted. */
  async function works(t: TestApp, email: string, phone: string): Promise<void> {
    const jwks = createLocalJWKSet((await t.app.inject({ url: '/.well-known/jwks.json' })).json());
    assert.equal((await jwtVerify(earlyToken, jwks)).protectedHeader.kid, kid);
    const s = await seedConnectorFlow(t.app, { email, phone });
    const fresh = (await accessToken(t.app, s.connector, s.refreshToken)).json().accessToken as string;
    assert.equal((await jwtVerify(fresh, jwks)).protectedHeader.kid, (await stored(t)).keys.map((k) => k.kid).sort().at(-1));
  }

  test('tessera master-key rotate seals everything under the new key; a wrong or missing key changes nothing', async () => {
    const was = await stored(sealed!);
    await sealed!.close();
    sealed = undefined;
    await assert.rejects(cli(['master-key', 'rotate'], env), fails(1, /^configuration error: set MASTER_KEY to the key the database is sealed with\n$/));
    await assert.rejects(cli(['master-key', 'rotate'], { ...env, MASTER_KEY: KEY }), fails(1, /^configuration error: set NEW_MASTER_KEY to the new key \(openssl rand -base64 32\)\n$/));
    await assert.rejects(cli(['master-key', 'rotate'], { ...env, MASTER_KEY: KEY, NEW_MASTER_KEY: 'short' }),
      fails(1, /^configuration error: NEW_MASTER_KEY must be 32 random bytes, as 64 hex digits or 43 base64 characters \(openssl rand -base64 32\)\n$/));
    await assert.rejects(cli(['master-key', 'rotate'], { ...env, MASTER_KEY: KEY, NEW_MASTER_KEY: KEY }),
      fails(1, /^configuration error: NEW_MASTER_KEY is the key the database is sealed with already\n$/));
    await assert.rejects(cli(['master-key', 'rotate'], { ...env, MASTER_KEY: OTHER, NEW_MASTER_KEY: NEW }),
      fails(1, /^configuration error: MASTER_KEY does not open signing_keys:[0-9a-f-]{36}: it is not the key this database was sealed with\n$/));
    await assert.rejects(cli(['master-key', 'turn'], { ...env, MASTER_KEY: KEY }), fails(2, /usage: tessera <command>/));
    // A value the key does not open, found after the signing keys were sealed again in the same
    // transaction: the whole change is rolled back.
    const db = await openDatabase(loadConfig({ ...process.env, ...env }));
    try {
      const alien = new Sealer(loadConfig({ MASTER_KEY: OTHER }).masterKey).seal('x', 'settings:webhook_key');
      await db.kysely.updateTable('settings').set({ value: alien }).where('key', '=', 'webhook_key').execute();
      await assert.rejects(cli(['master-key', 'rotate'], { ...env, MASTER_KEY: KEY, NEW_MASTER_KEY: NEW }),
        fails(1, /^configuration error: MASTER_KEY does not open settings:webhook_key: it is not the key this database was sealed with\n$/));
      assert.deepEqual((await db.kysely.selectFrom('signing_keys').select(['kid', 'private_jwk']).execute()), was.keys, 'the signing keys were not changed');
      await db.kysely.updateTable('settings').set({ value: was.settings.find((r) => r.key === 'webhook_key')!.value }).where('key', '=', 'webhook_key').execute();
    } finally {
      await db.close();
    }
    sealed = await createTestApp({ ...env, MASTER_KEY: KEY });
    assert.deepEqual(await stored(sealed), was, 'nothing was written');
    assert.deepEqual(await masterKeyEntries(sealed), [], 'a refused change leaves no audit entry');
    await sealed.close();
    sealed = undefined;

    const out = await cli(['master-key', 'rotate'], { ...env, MASTER_KEY: KEY, NEW_MASTER_KEY: NEW });
    assert.equal(out.stdout, 'sealed under NEW_MASTER_KEY: 2 signing keys, 4 instance secrets, 0 two-factor secrets, 0 IBANs\nstart every instance with MASTER_KEY set to the new key\n');
    await assert.rejects(createTestApp({ ...env, MASTER_KEY: KEY }), { name: 'SealError', message: /^MASTER_KEY does not open signing_keys:/ });
    sealed = await createTestApp({ ...env, MASTER_KEY: NEW });
    const now = await stored(sealed);
    assert.deepEqual(await masterKeyEntries(sealed), [
      { actor_type: 'system', actor_id: 'tessera-cli', action: 'master_key.rotated', org_id: null, summary: '2 signing keys, 4 instance secrets, 0 two-factor secrets, 0 IBANs sealed under the new key' },
    ]);
    assert.deepEqual(now.keys.map((k) => k.kid), was.keys.map((k) => k.kid));
    for (const [i, r] of [...now.keys.map((k) => k.private_jwk), ...now.settings.map((x) => x.value)].entries()) {
      assert.match(r, /^sealed:v1:[A-Za-z0-9_-]+$/);
      assert.notEqual(r, [...was.keys.map((k) => k.private_jwk), ...was.settings.map((x) => x.value)][i]);
    }
    await works(sealed, 'rotated@example.com', '+14155550124');
  });

  test('tessera master-key remove stores everything unsealed; the database then starts without a key', async () => {
    await sealed!.close();
    sealed = undefined;
    const out = await cli(['master-key', 'remove'], { ...env, MASTER_KEY: NEW });
    assert.equal(out.stdout, 'stored unsealed: 2 signing keys, 4 instance secrets, 0 two-factor secrets, 0 IBANs\nstart every instance with no MASTER_KEY\n');
    plain = await createTestApp(env);
    const now = await stored(plain);
    assert.deepEqual((await masterKeyEntries(plain)).map((e) => e.action), ['master_key.rotated', 'master_key.removed']);
    for (const k of now.keys) assert.match(k.private_jwk, /"d":"/);
    for (const r of now.settings) assert.match(r.value, /^[A-Za-z0-9_-]{43}$/);
    await works(plain, 'unsealed@example.com', '+14155550125');
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
