// Migration 0800 on a Tessera that has issued refresh tokens: tokens of the old format
// (`tor_<family>_<position>_<secret>`) keep working after the upgrade, over HTTP. The current one
// refreshes once, into the new format; a spent one, spent before the upgrade or after it, is a
// reuse that revokes the family. A family issued without a refresh token is given its end. And
// the migration goes down and up again.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { dropSchema, openDatabase } from '../../src/db/database.js';
import { migrations } from '../../src/db/migrations/index.js';
import { sha256 } from '../../src/lib/hash.js';
import { randomToken } from '../../src/lib/ids.js';
import { findRefreshToken } from '../../src/oauth/queries.js';
import { createTestApp, onPostgres, type TestApp } from '../helpers/app.js';
import { PortalClient } from '../helpers/portal.js';
import { basic, codeFor, developer, redeem, tokenRequest, type OAuthClientReg } from '../oauth/helpers.js';

const provider: MigrationProvider = { getMigrations: async (): Promise<Record<string, Migration>> => migrations };

describe('migration 0800: refresh tokens of the old format keep working', () => {
  const schema = onPostgres() ? `t_m0800_${randomBytes(5).toString('hex')}` : undefined;
  const dir = schema ? undefined : mkdtempSync(join(tmpdir(), 'tessera-m0800-'));
  const databaseUrl = schema ? process.env.DATABASE_URL! : `sqlite:${join(dir!, 'tessera.db')}`;
  const env: Record<string, string> = schema ? { DATABASE_SCHEMA: schema } : { DATABASE_URL: databaseUrl };
  let t: TestApp | undefined;
  after(async () => {
    await t?.close();
    if (schema) await dropSchema(databaseUrl, schema);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** Runs `fn` on the database with no Tessera attached, its migrations at `target`. */
  async function at(target: string, fn: (k: Kysely<unknown>) => Promise<void>): Promise<void> {
    const db = await openDatabase({ databaseUrl, databaseSchema: schema });
    try {
      const migrator = new Migrator({ db: db.kysely, provider, ...(schema ? { migrationTableSchema: schema } : {}) });
      assert.equal((await migrator.migrateTo(target)).error, undefined);
      await fn(db.kysely as unknown as Kysely<unknown>);
    } finally {
      await db.close();
    }
  }

  test('carried over, refreshed, reused', async () => {
    t = await createTestApp(env);
    const d = await developer(t.app);
    const web = await d.register('Web');
    const codeOnly = await d.register('Code only', { grantTypes: ['authorization_code'] });
    const alice = new PortalClient(t.app);
    await alice.signup('alice@example.com', 'Alice');
    const start = async (client: OAuthClientReg) => {
      const c = await codeFor(alice, client.id);
      return (await redeem(t!.app, client, c.code, c.verifier)).json() as { access_token: string };
    };
    const gid = (accessToken: string): string => JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString()).gid as string;
    const family = gid((await start(web)).access_token);
    const withoutRefresh = gid((await start(codeOnly)).access_token);
    await t.close();
    t = undefined;

    // Back to 0702: 0800's down drops the refresh tokens; the family gets the chain it would have
    // had then, two links of which the first is spent.
    const old = [1, 2].map((seq) => `tor_${family}_${seq}_${randomToken(32)}`);
    const now = Date.now();
    await at('0702_grant_row_notifications', async (k) => {
      for (const [i, token] of old.entries()) {
        await sql`insert into oauth_refresh_chain (family_id, seq, token_hash, created_at, expires_at)
          values (${family}, ${i + 1}, ${sha256(token)}, ${now}, ${now + 7 * 24 * 3600_000})`.execute(k);
      }
      const columns = (await sql<{ name: string }>`select ${sql.ref(schema ? 'column_name' : 'name')} as name from ${schema
        ? sql`information_schema.columns where table_schema = ${schema} and table_name = 'oauth_families'`
        : sql`pragma_table_info('oauth_families')`}`.execute(k)).rows.map((r) => r.name);
      assert.equal(columns.includes('expires_at'), false);
    });

    t = await createTestApp(env);
    const ends = await t.db.kysely.selectFrom('oauth_families').select(['id', 'created_at', 'expires_at']).orderBy('id').execute();
    const created = ends.find((f) => f.id === withoutRefresh)!.created_at;
    assert.deepEqual(ends.map((f) => [f.id, f.expires_at]), [[family, null], [withoutRefresh, created + 3600_000]].sort((a, b) => (a[0]! < b[0]! ? -1 : 1)));
    assert.deepEqual(await t.db.kysely.selectFrom('oauth_refresh_links').select(['id', 'spends']).orderBy('id').execute(),
      [{ id: `${family}/1`, spends: null }, { id: `${family}/2`, spends: `${family}/1` }]);

    const refresh = (token: string) => tokenRequest(t!.app, { grant_type: 'refresh_token', refresh_token: token }, { authorization: basic(web.id, web.secret) });
    const next = await refresh(old[1]!);
    assert.equal(next.statusCode, 200, next.body);
    const issued = next.json() as { access_token: string; refresh_token: string };
    assert.equal(gid(issued.access_token), family);
    assert.match(issued.refresh_token, /^tor_[0-9a-f-]{36}_[A-Za-z0-9_-]{43}$/);
    const reused = { error: 'invalid_grant', error_description: 'the refresh token has already been used; every token of this grant is revoked' };
    // Both old tokens are spent now: the first within the carried-over chain, the second by the refresh.
    assert.deepEqual(await Promise.all(old.map(async (token) => (await findRefreshToken(t!.db.kysely, token))?.spent)), [true, true]);
    const replay = await refresh(old[0]!);
    assert.deepEqual([replay.statusCode, replay.json()], [400, reused]);
    const revoked = await refresh(issued.refresh_token);
    assert.deepEqual([revoked.statusCode, revoked.json()], [400, { error: 'invalid_grant', error_description: 'the refresh token has been revoked' }]);
  });
});
