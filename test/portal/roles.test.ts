// Organisation and group roles in the portal: changing roles, removing members, leaving. Owners
// alone make or unmake owners, an organisation always keeps an owner, admins manage the rest,
// anyone may leave, and another organisation's admin finds nothing (404).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { PortalClient } from '../helpers/portal.js';

const errorText = (body: string) => /<div class="error" role="alert">([^<]*)<\/div>/.exec(body)?.[1];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
const refused = (res: LightMyRequestResponse, status: number, message: string) => assert.deepEqual([res.statusCode, errorText(res.body)], [status, esc(message)]);

describe('organisation roles', () => {
  let t: TestApp;
  const people: Record<'owner' | 'admin' | 'member' | 'outsider', { client: PortalClient; id: string }> = {} as never;

  before(async () => {
    t = await createTestApp();
    for (const name of ['owner', 'admin', 'member', 'outsider'] as const) {
      const client = new PortalClient(t.app);
      await client.signup(`${name}@example.com`, name[0]!.toUpperCase() + name.slice(1));
      const { id } = await t.db.kysely.selectFrom('users').select('id').where('email', '=', `${name}@example.com`).executeTakeFirstOrThrow();
      people[name] = { client, id };
    }
    await people.outsider.client.createOrg('Other');
  });
  after(async () => { await t.close(); });

  /** A fresh organisation: owner, an admin and a member, added through the portal. */
  async function org(): Promise<string> {
    const orgId = await people.owner.client.createOrg(`Contoso ${Math.random().toString(36).slice(2, 8)}`);
    for (const [who, role] of [['admin', 'admin'], ['member', 'member']] as const) {
      const res = await people.owner.client.post(`/orgs/${orgId}/members`, { email: `${who}@example.com`, role });
      assert.equal(res.statusCode, 303);
    }
    for (const p of Object.values(people)) await p.client.get('/orgs');
    return orgId;
  }
  const roleOf = async (orgId: string, who: keyof typeof people) =>
    (await t.db.kysely.selectFrom('org_members').select('role').where('org_id', '=', orgId).where('user_id', '=', people[who].id).executeTakeFirst())?.role;
  const setRole = (by: keyof typeof people, orgId: string, who: keyof typeof people, role: string) =>
    people[by].client.post(`/orgs/${orgId}/members/${people[who].id}/role`, { role });
  const remove = (by: keyof typeof people, orgId: string, who: keyof typeof people) =>
    people[by].client.post(`/orgs/${orgId}/members/${people[who].id}/remove`, {});

  test('an admin promotes a member to admin and back; the page offers them no owner role', async () => {
    const orgId = await org();
    const page = await people.admin.client.get(`/orgs/${orgId}`);
    const options = /aria-label="Role of member@example.com">(.*?)<\/select>/.exec(page.body)![1]!;
    assert.deepEqual([...options.matchAll(/<option ?(selected)?>(\w+)<\/option>/g)].map((m) => `${m[2]}${m[1] ? '*' : ''}`), ['admin', 'member*']);
    assert.doesNotMatch(page.body, /aria-label="Role of owner@example.com"/, 'no controls on the owner for an admin');
    const up = await setRole('admin', orgId, 'member', 'admin');
    assert.deepEqual([up.statusCode, up.headers.location], [303, `/orgs/${orgId}#members`]);
    assert.equal(await roleOf(orgId, 'member'), 'admin');
    assert.equal((await setRole('admin', orgId, 'member', 'member')).statusCode, 303);
    assert.equal(await roleOf(orgId, 'member'), 'member');
  });

  test('only owners make or unmake owners, or remove them', async () => {
    const orgId = await org();
    refused(await setRole('admin', orgId, 'member', 'owner'), 403, "Only an owner may make someone an owner or change an owner's role");
    refused(await setRole('admin', orgId, 'admin', 'owner'), 403, "Only an owner may make someone an owner or change an owner's role");
    refused(await setRole('admin', orgId, 'owner', 'member'), 403, "Only an owner may make someone an owner or change an owner's role");
    refused(await remove('admin', orgId, 'owner'), 403, 'Only an owner may remove an owner');
    assert.deepEqual([await roleOf(orgId, 'owner'), await roleOf(orgId, 'admin'), await roleOf(orgId, 'member')], ['owner', 'admin', 'member']);
  });

  test('a member can neither change roles nor remove others', async () => {
    const orgId = await org();
    refused(await setRole('member', orgId, 'admin', 'member'), 403, 'Only owners and admins of the organisation may do this');
    refused(await setRole('member', orgId, 'member', 'admin'), 403, 'Only owners and admins of the organisation may do this');
    refused(await remove('member', orgId, 'admin'), 403, 'Only owners and admins of the organisation may do this');
    assert.equal(await roleOf(orgId, 'admin'), 'admin');
  });

  test('the last owner can be neither demoted nor removed, and cannot leave', async () => {
    const orgId = await org();
    refused(await setRole('owner', orgId, 'owner', 'admin'), 409, 'role: the organisation must keep at least one owner; make someone else an owner first');
    refused(await remove('owner', orgId, 'owner'), 409, 'You are the last owner of this organisation; make someone else an owner before leaving');
    assert.equal(await roleOf(orgId, 'owner'), 'owner');
  });

  test('an owner makes a second owner, who may then demote or remove the first', async () => {
    const orgId = await org();
    assert.equal((await setRole('owner', orgId, 'admin', 'owner')).statusCode, 303);
    await people.admin.client.get(`/orgs/${orgId}`);
    assert.equal((await setRole('admin', orgId, 'owner', 'member')).statusCode, 303);
    assert.equal(await roleOf(orgId, 'owner'), 'member');
    // Demoted, the first owner has no say any more.
    refused(await setRole('owner', orgId, 'admin', 'member'), 403, 'Only owners and admins of the organisation may do this');
    refused(await setRole('admin', orgId, 'admin', 'member'), 409, 'role: the organisation must keep at least one owner; make someone else an owner first');
    const removed = await remove('admin', orgId, 'owner');
    assert.deepEqual([removed.statusCode, removed.headers.location], [303, `/orgs/${orgId}#members`]);
    assert.equal(await roleOf(orgId, 'owner'), undefined);
  });

  test('two owners demoting each other at the same time: one wins, one owner is left', async () => {
    const orgId = await org();
    assert.equal((await setRole('owner', orgId, 'admin', 'owner')).statusCode, 303);
    await people.admin.client.get(`/orgs/${orgId}`);
    const results = await Promise.all([setRole('owner', orgId, 'admin', 'member'), setRole('admin', orgId, 'owner', 'member')]);
    assert.equal(results.filter((r) => r.statusCode === 303).length, 1);
    // The loser either was already demoted when its request was authorised, or met the last-owner rule.
    const loser = results.find((r) => r.statusCode !== 303)!;
    assert.ok([
      `403 ${esc('Only owners and admins of the organisation may do this')}`,
      `409 ${esc('role: the organisation must keep at least one owner; make someone else an owner first')}`,
    ].includes(`${loser.statusCode} ${errorText(loser.body)}`), `${loser.statusCode} ${errorText(loser.body)}`);
    const owners = await t.db.kysely.selectFrom('org_members').select('user_id').where('org_id', '=', orgId).where('role', '=', 'owner').execute();
    assert.equal(owners.length, 1);

    // The same race with both people authorised as owners beforehand, so both changes reach the
    // database: the second must see the first (PostgreSQL locks the organisation's row).
    const again = await org();
    assert.equal((await setRole('owner', again, 'admin', 'owner')).statusCode, 303);
    const [first, second] = await Promise.all([t.services.accounts.actor(people.owner.id), t.services.accounts.actor(people.admin.id)]);
    const outcomes = await Promise.allSettled([
      t.services.orgs.changeMemberRole(first, again, people.admin.id, 'member'), t.services.orgs.changeMemberRole(second, again, people.owner.id, 'member'),
    ]);
    assert.deepEqual(outcomes.map((o) => o.status).sort(), ['fulfilled', 'rejected']);
    const reason = (outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult).reason as Error;
    assert.equal(reason.message, 'role: the organisation must keep at least one owner; make someone else an owner first');
    const left = await t.db.kysely.selectFrom('org_members').select('user_id').where('org_id', '=', again).where('role', '=', 'owner').execute();
    assert.equal(left.length, 1);
  });

  test('people can leave: a member, an admin, and an owner who is not the last', async () => {
    const orgId = await org();
    for (const who of ['member', 'admin'] as const) {
      const res = await remove(who, orgId, who);
      assert.deepEqual([res.statusCode, res.headers.location], [303, '/orgs']);
      assert.equal(await roleOf(orgId, who), undefined);
      assert.equal((await people[who].client.get(`/orgs/${orgId}`)).statusCode, 404);
    }
    const again = await org();
    assert.equal((await setRole('owner', again, 'admin', 'owner')).statusCode, 303);
    assert.deepEqual([(await remove('owner', again, 'owner')).statusCode, await roleOf(again, 'owner')], [303, undefined]);
  });

  test('admins remove members and admins; an unknown role or member is refused', async () => {
    const orgId = await org();
    refused(await setRole('admin', orgId, 'member', 'boss'), 400, 'role: must be one of owner, admin, member');
    refused(await setRole('admin', orgId, 'outsider', 'admin'), 404, 'Member not found');
    assert.equal((await remove('admin', orgId, 'member')).statusCode, 303);
    assert.equal(await roleOf(orgId, 'member'), undefined);
    refused(await remove('admin', orgId, 'member'), 404, 'Member not found');
    assert.equal((await remove('owner', orgId, 'admin')).statusCode, 303);
  });

  test("another organisation's admin finds nothing, and forms without the CSRF token are refused", async () => {
    const orgId = await org();
    refused(await setRole('outsider', orgId, 'member', 'admin'), 404, 'Organisation not found');
    refused(await remove('outsider', orgId, 'member'), 404, 'Organisation not found');
    const forged = await people.owner.client.post(`/orgs/${orgId}/members/${people.member.id}/role`, { role: 'admin' }, { csrf: null });
    refused(forged, 403, 'The form has expired or did not come from this site; reload the page and try again');
    assert.equal(await roleOf(orgId, 'member'), 'member');
  });
});

describe('group roles', () => {
  let t: TestApp;
  let owner: PortalClient;
  let member: PortalClient;
  let guest: PortalClient;
  let outsider: PortalClient;
  let orgId: string;
  let groupId: string;

  before(async () => {
    t = await createTestApp();
    owner = new PortalClient(t.app);
    await owner.signup('owner@example.com', 'Owner');
    await owner.verifyPhone('+14155550101');
    orgId = await owner.createOrg('Contoso');
    member = new PortalClient(t.app);
    await member.signup('member@example.com', 'Member');
    assert.equal((await owner.post(`/orgs/${orgId}/members`, { email: 'member@example.com', role: 'member' })).statusCode, 303);
    guest = new PortalClient(t.app);
    await guest.signup('guest@example.com', 'Guest');
    await guest.verifyPhone('+14155550102');
    outsider = new PortalClient(t.app);
    await outsider.signup('outsider@example.com', 'Outsider');
    await outsider.createOrg('Other');
    groupId = await owner.createGroup(orgId, 'Field team');
    for (const phone of ['+14155550102', '+14155550103']) {
      assert.equal((await owner.post(`/groups/${groupId}/members`, { phone, role: 'member' })).statusCode, 303);
    }
    for (const p of [member, guest, outsider]) await p.get('/groups');
  });
  after(async () => { await t.close(); });

  const memberId = async (phone: string) =>
    (await t.db.kysely.selectFrom('group_members').select('id').where('group_id', '=', groupId).where('phone', '=', phone).executeTakeFirst())?.id;
  const roleOf = async (phone: string) =>
    (await t.db.kysely.selectFrom('group_members').select('role').where('group_id', '=', groupId).where('phone', '=', phone).executeTakeFirst())?.role;

  test('a manager changes a member to admin and back; the role must be admin or member', async () => {
    const id = (await memberId('+14155550103'))!;
    const res = await owner.post(`/groups/${groupId}/members/${id}/role`, { role: 'admin' });
    assert.deepEqual([res.statusCode, res.headers.location], [303, `/groups/${groupId}#members`]);
    assert.equal(await roleOf('+14155550103'), 'admin');
    assert.equal((await owner.post(`/groups/${groupId}/members/${id}/role`, { role: 'member' })).statusCode, 303);
    assert.equal(await roleOf('+14155550103'), 'member');
    refused(await owner.post(`/groups/${groupId}/members/${id}/role`, { role: 'owner' }), 400, 'role: must be one of admin, member');
    refused(await owner.post(`/groups/${groupId}/members/00000000-0000-4000-8000-000000000000/role`, { role: 'admin' }), 404, 'Member not found');
  });

  test('the portal form still names a bad number phone', async () => {
    refused(await owner.post(`/groups/${groupId}/members`, { phone: 'not a phone', role: 'member' }), 400,
      'phone: "not a phone" is not a valid phone number; use international form such as +14155550123');
  });

  test('an organisation member who is no group admin cannot change roles; another organisation finds no group', async () => {
    const id = (await memberId('+14155550103'))!;
    refused(await member.post(`/groups/${groupId}/members/${id}/role`, { role: 'admin' }), 403, 'Only group admins and organisation admins may do this');
    refused(await outsider.post(`/groups/${groupId}/members/${id}/role`, { role: 'admin' }), 404, 'Group not found');
    refused(await outsider.post(`/groups/${groupId}/members/${id}/delete`, {}), 404, 'Group not found');
    assert.equal(await roleOf('+14155550103'), 'member');
  });

  test('a person leaves a group by their own verified number, and cannot remove anyone else', async () => {
    const page = await guest.get(`/groups/${groupId}`);
    assert.match(page.body, /<button class="secondary" type="submit">Leave group<\/button>/);
    refused(await guest.post(`/groups/${groupId}/members/${(await memberId('+14155550103'))!}/delete`, {}), 403, 'Only group admins and organisation admins may remove other members');
    const res = await guest.post(`/groups/${groupId}/members/${(await memberId('+14155550102'))!}/delete`, {});
    assert.deepEqual([res.statusCode, res.headers.location], [303, '/groups']);
    assert.equal(await roleOf('+14155550102'), undefined);
    assert.equal((await guest.get(`/groups/${groupId}`)).statusCode, 404);
  });
});
