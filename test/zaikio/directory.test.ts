// The directory resources in Zaikio's shapes: a person's organisation memberships, an app
// creating an organisation in the person's name (owner; a platform's app makes it a platform
// member; Idempotency-Key replays), an organisation's memberships; field errors (400 for a body
// that does not fit, 422 for values refused, every field at once) and nothing written by them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { bearer, platformOwner, privateToken, signUpMember, type PlatformSetup } from '../platforms/helpers.js';

describe('directory resources', () => {
  let t: TestApp;
  let acme: PlatformSetup;
  let access = '';
  let personId = '';

  before(async () => {
    t = await createTestApp();
    acme = await platformOwner(t.app, 'acme');
    const { tokens } = await signUpMember(t.app, acme, { name: 'Dora Directory', email: 'dora@example.com' }, 'directory.platform_membership.rw,directory.person.r,directory.organization.rw');
    access = tokens.access_token;
    personId = tokens.bearer.id;
  });
  after(async () => { await t.close(); });

  const post = (body: unknown, key?: string) => t.app.inject({
    method: 'POST', url: '/api/v1/person/organizations', payload: body as Record<string, unknown>, headers: { ...bearer(access), ...(key ? { 'idempotency-key': key } : {}) },
  });
  const orgCount = async () => (await t.db.kysely.selectFrom('organizations').select('id').execute()).length;

  test('a person\'s app creates an organisation in their name; it joins the app\'s platform; a retry with the key is the first answer', async () => {
    const before = await orgCount();
    const res = await post({ organization: { name: 'Dora Design', country_code: 'AT' } }, 'k-1');
    assert.equal(res.statusCode, 201);
    const org = res.json();
    assert.deepEqual({ ...org, id: 'x', created_at: 'x', updated_at: 'x' }, { id: 'x', name: 'Dora Design', country_code: 'AT', created_at: 'x', updated_at: 'x' });
    const again = await post({ organization: { name: 'Dora Design', country_code: 'AT' } }, 'k-1');
    assert.deepEqual([again.statusCode, again.json(), again.headers['idempotent-replayed']], [201, org, 'true']);
    assert.equal(await orgCount(), before + 1);

    const memberships = await t.app.inject({ url: '/api/v1/person/organization_memberships', headers: bearer(access) });
    assert.equal(memberships.statusCode, 200);
    assert.deepEqual(memberships.json().map((m: { roles: string[]; organization: { id: string } }) => [m.roles, m.organization.id]), [[['owner'], org.id]]);
    const pat = await privateToken(acme.owner, acme.orgId, ['directory.platform.r']);
    const members = await t.app.inject({ url: '/api/v1/platforms/acme/members?type=Organization', headers: bearer(pat) });
    assert.deepEqual(members.json().map((m: { id: string; joined_via: string }) => [m.id, m.joined_via]), [[org.id, 'api']]);
  });

  test('refused bodies: 400 for what does not fit, 422 for every refused value at once; nothing written', async () => {
    const before = await orgCount();
    const cases: [unknown, number, unknown][] = [
      [{}, 400, { errors: { organization: ['is required'] } }],
      [{ organization: { name: 'X', country_code: 'DE', colour: 'red' } }, 400, { errors: { colour: ['is not an accepted field'] } }],
      [{ organization: { name: 5, country_code: 'DE' } }, 400, { errors: { 'organization.name': ['must be string'] } }],
      [{ organization: {} }, 422, { errors: { name: ["can't be blank"], country_code: ["can't be blank"] } }],
      [{ organization: { name: 'Fine', country_code: 'ZZ' } }, 422, { errors: { country_code: ['is not a country code (ISO 3166-1 alpha-2)'] } }],
    ];
    for (const [body, status, answer] of cases) {
      const res = await post(body);
      assert.deepEqual([res.statusCode, res.json()], [status, answer], JSON.stringify(body));
    }
    assert.equal(await orgCount(), before);
  });

  test('an organisation\'s token reads it and its memberships; a person\'s token is the wrong subject', async () => {
    const pat = await privateToken(acme.owner, acme.orgId, ['directory.organization.r']);
    const org = await t.app.inject({ url: '/api/v1/organization', headers: bearer(pat) });
    assert.equal(org.json().id, acme.orgId);
    const memberships = await t.app.inject({ url: '/api/v1/organization/memberships', headers: bearer(pat) });
    assert.deepEqual(memberships.json().map((m: { roles: string[]; person: { email: string } }) => [m.roles, m.person.email]), [[['owner'], 'acme-owner@example.com']]);
    for (const url of ['/api/v1/organization', '/api/v1/organization/memberships']) {
      const res = await t.app.inject({ url, headers: bearer(access) });
      assert.deepEqual([res.statusCode, res.json()], [403, { errors: ['unpermitted_subject'] }], url);
    }
    const personOnOrgToken = await t.app.inject({ url: '/api/v1/person', headers: bearer(pat) });
    assert.deepEqual([personOnOrgToken.statusCode, personOnOrgToken.json()], [403, { errors: ['unpermitted_subject'] }]);
    assert.ok(personId);
  });
});
