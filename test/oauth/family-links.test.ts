// A grant family's refresh links go with the family (migration 0701: a delete trigger, not a
// foreign key, so that appending a link does not lock the family row). Deleting a connector
// deletes its families and their links and nobody else's; a link whose family is gone (a refresh
// that raced the deletion) is refused like a token never issued, and the pruner removes it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { PortalClient } from '../helpers/portal.js';
import { prune } from '../../src/db/retention.js';
import { sha256 } from '../../src/lib/hash.js';
import { basic, codeFor, developer, redeem, tokenRequest, type OAuthClientReg } from './helpers.js';

const DAY = 24 * 3600_000;

describe('grant families and their refresh links', () => {
  let t: TestApp;
  let dev: PortalClient;
  let web: OAuthClientReg;
  let other: OAuthClientReg;
  let alice: PortalClient;

  before(async () => {
    t = await createTestApp();
    const d = await developer(t.app);
    dev = d.dev;
    web = await d.register('Web');
    other = await d.register('Other');
    alice = new PortalClient(t.app);
    await alice.signup('alice@example.com', 'Alice');
  });
  after(async () => { await t.close(); });

  const refresh = (client: OAuthClientReg, token: string) => tokenRequest(t.app, { grant_type: 'refresh_token', refresh_token: token }, { authorization: basic(client.id, client.secret) });
  const start = async (client: OAuthClientReg) => {
    const c = await codeFor(alice, client.id);
    const res = await redeem(t.app, client, c.code, c.verifier);
    assert.equal(res.statusCode, 200, res.body);
    return res.json() as { access_token: string; refresh_token: string };
  };
  const links = async () => (await t.db.kysely.selectFrom('oauth_refresh_chain').innerJoin('oauth_families', 'oauth_families.id', 'oauth_refresh_chain.family_id')
    .select(['oauth_families.connector_id', 'oauth_refresh_chain.seq']).execute())
    .map((r) => `${r.connector_id === web.id ? 'web' : r.connector_id === other.id ? 'other' : r.connector_id}:${r.seq}`).sort();
  const allLinks = async () => (await t.db.kysely.selectFrom('oauth_refresh_chain').select(['family_id', 'seq']).execute()).length;

  test('deleting a connector deletes its families and their links, and only those', async () => {
    const w = await start(web);
    const r1 = await refresh(web, w.refresh_token);
    assert.equal(r1.statusCode, 200, r1.body);
    const r2 = await refresh(web, (r1.json() as { refresh_token: string }).refresh_token);
    assert.equal(r2.statusCode, 200, r2.body);
    const o = await start(other);
    assert.equal((await refresh(other, o.refresh_token)).statusCode, 200);
    assert.deepEqual(await links(), ['other:1', 'other:2', 'web:1', 'web:2', 'web:3']);

    await dev.get('/connectors');
    assert.equal((await dev.post(`/connectors/${web.id}/delete`, {})).statusCode, 303);
    assert.deepEqual(await links(), ['other:1', 'other:2']);
    assert.equal(await allLinks(), 2, 'no link of a deleted family is left behind');
    assert.equal((await t.db.kysely.selectFrom('oauth_families').select('id').where('connector_id', '=', web.id).execute()).length, 0);
  });

  test('a link whose family is gone is refused as unknown, then pruned', async () => {
    const o = await start(other);
    const familyId = /^tor_([^_]+)_1_/.exec(o.refresh_token)![1]!;
    // What a refresh racing its family's deletion leaves: the family deleted, then its next link appended.
    await t.db.kysely.deleteFrom('oauth_families').where('id', '=', familyId).execute();
    const token = `tor_${familyId}_2_orphan-secret`;
    const now = t.clock.now();
    await t.db.kysely.insertInto('oauth_refresh_chain').values({ family_id: familyId, seq: 2, token_hash: sha256(token), created_at: now, expires_at: now + 7 * DAY }).execute();

    for (const presented of [token, o.refresh_token]) {
      const res = await refresh(other, presented);
      assert.deepEqual([res.statusCode, res.json()], [400, { error: 'invalid_grant', error_description: 'the refresh token is not valid' }]);
    }
    const orphans = () => t.db.kysely.selectFrom('oauth_refresh_chain').select('seq').where('family_id', '=', familyId).execute();
    assert.deepEqual(await orphans(), [{ seq: 2 }], 'the family delete took its first link; the raced one is left');

    // Kept like any link until a week after it expires; then the pruner takes it with the spent
    // link and the family (and, by the trigger, its last link) that the first test left, now dead.
    assert.equal((await prune(t.db.kysely, now + 13 * DAY)).oauth_refresh_chain, 0);
    const counts = await prune(t.db.kysely, now + 15 * DAY);
    assert.deepEqual([counts.oauth_refresh_chain, counts.oauth_families], [2, 1]);
    assert.equal(await allLinks(), 0);
  });
});
