// A grant family and its refresh links (migration 0800). Nothing indexes a family's links, so
// they do not go with it: deleting a connector deletes its families and nobody else's, and their
// links, and any a refresh racing the deletion appended, are refused like tokens never issued
// until the pruner removes them with the expired. A family ends with its chain's last link, or,
// issued without a refresh token, with its access tokens.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { PortalClient } from '../helpers/portal.js';
import { prune } from '../../src/db/retention.js';
import { mintRefreshToken } from '../../src/oauth/refresh-token-format.js';
import { basic, codeFor, developer, redeem, tokenRequest, type OAuthClientReg } from './helpers.js';

const DAY = 24 * 3600_000;

describe('grant families and their refresh links', () => {
  let t: TestApp;
  let dev: PortalClient;
  let web: OAuthClientReg;
  let other: OAuthClientReg;
  let codeOnly: OAuthClientReg;
  let alice: PortalClient;
  let day0: number;

  before(async () => {
    t = await createTestApp();
    t.clock.freeze();
    day0 = t.clock.now();
    const d = await developer(t.app);
    dev = d.dev;
    web = await d.register('Web');
    other = await d.register('Other');
    codeOnly = await d.register('Code only', { grantTypes: ['authorization_code'] });
    alice = new PortalClient(t.app);
    await alice.signup('alice@example.com', 'Alice');
  });
  after(async () => { await t.close(); });

  const invalid = { error: 'invalid_grant', error_description: 'the refresh token is not valid' };
  const refresh = (client: OAuthClientReg, token: string) => tokenRequest(t.app, { grant_type: 'refresh_token', refresh_token: token }, { authorization: basic(client.id, client.secret) });
  const start = async (client: OAuthClientReg) => {
    const c = await codeFor(alice, client.id);
    const res = await redeem(t.app, client, c.code, c.verifier);
    assert.equal(res.statusCode, 200, res.body);
    return res.json() as { access_token: string; refresh_token?: string };
  };
  const gid = (accessToken: string): string => JSON.parse(Buffer.from(accessToken.split('.')[1]!, 'base64url').toString()).gid as string;
  const families = async () => (await t.db.kysely.selectFrom('oauth_families').select(['connector_id', 'expires_at']).orderBy('id').execute())
    .map((f) => `${f.connector_id === web.id ? 'web' : f.connector_id === other.id ? 'other' : 'code only'}${f.expires_at === null ? '' : ` until ${(f.expires_at - day0) / 60_000} min`}`);
  const linksOf = async (familyId: string) => (await t.db.kysely.selectFrom('oauth_refresh_links').select('id').where('family_id', '=', familyId).execute()).length;
  const allLinks = async () => (await t.db.kysely.selectFrom('oauth_refresh_links').select('id').execute()).length;

  test('deleting a connector deletes its families and only those; a link whose family is gone is refused as never issued', async () => {
    const w = await start(web);
    const r1 = await refresh(web, w.refresh_token!);
    assert.equal(r1.statusCode, 200, r1.body);
    const o = await start(other);
    const o2 = await refresh(other, o.refresh_token!);
    assert.equal(o2.statusCode, 200, o2.body);
    assert.deepEqual([await linksOf(gid(w.access_token)), await linksOf(gid(o.access_token))], [2, 2]);

    await dev.get('/connectors');
    assert.equal((await dev.post(`/connectors/${web.id}/delete`, {})).statusCode, 303);
    assert.deepEqual(await families(), ['other']);
    assert.deepEqual([await linksOf(gid(w.access_token)), await allLinks()], [2, 4], 'the links stay until they expire');
    // Other's family is untouched.
    const o3 = await refresh(other, (o2.json() as { refresh_token: string }).refresh_token);
    assert.equal(o3.statusCode, 200, o3.body);

    // What a refresh racing its family's deletion leaves: the family deleted, then a link appended.
    const family = gid(o.access_token);
    await t.db.kysely.deleteFrom('oauth_families').where('id', '=', family).execute();
    const raced = mintRefreshToken(t.clock.now());
    await t.db.kysely.insertInto('oauth_refresh_links').values({ ...raced.link, family_id: family, spends: null }).execute();
    for (const presented of [raced.token, (o3.json() as { refresh_token: string }).refresh_token]) {
      const res = await refresh(other, presented);
      assert.deepEqual([res.statusCode, res.json()], [400, invalid]);
    }
  });

  test('a family without a refresh token ends with its access tokens; one with, with its last link; the pruner takes them a week later', async () => {
    const c = await start(codeOnly);
    assert.equal(c.refresh_token, undefined);
    const o = await start(other);
    assert.deepEqual(await families(), ['code only until 60 min', 'other']);

    const pruned = async (at: number) => prune(t.db.kysely, day0 + at).then((n) => [n.oauth_refresh_links, n.oauth_families]);
    assert.deepEqual(await pruned(7 * DAY), [0, 0], 'the code-only family ended an hour after day 0: it has its week');
    assert.deepEqual(await pruned(8 * DAY), [0, 1], 'and now it is gone; the links of day 0 expired on day 7');
    assert.deepEqual(await pruned(14 * DAY), [0, 0], 'a week after the links expired, not yet past it');
    // Day 15: every day-0 link: the deleted connector's two and other's four (its first family's
    // three and the raced one), whose families are gone, and the new family's first link, its
    // last, with it.
    assert.deepEqual(await pruned(15 * DAY), [7, 1]);
    assert.deepEqual([await families(), await allLinks()], [[], 0]);
    const gone = await refresh(other, o.refresh_token!);
    assert.deepEqual([gone.statusCode, gone.json()], [400, invalid]);
  });
});
