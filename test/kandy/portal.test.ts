// The project pages over HTTP: who may do what (members read, owners and admins manage, others
// see nothing), form errors re-render with the message, and forged forms are refused.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { PortalClient } from '../helpers/portal.js';
import { seedDomain, type SeededDomain } from './setup.js';

describe('the project pages', () => {
  let t: TestApp;
  let d: SeededDomain;
  let member: PortalClient;
  let stranger: PortalClient;
  before(async () => {
    t = await createTestApp();
    d = await seedDomain(t, { email: 'owner@example.com', domainName: 'owned.example.com' });
    member = new PortalClient(t.app);
    await member.signup('member@example.com', 'Mo Member');
    stranger = new PortalClient(t.app);
    await stranger.signup('stranger@example.com', 'Sam Stranger');
    await d.person.get(`/orgs/${d.orgId}`);
    assert.equal((await d.person.post(`/orgs/${d.orgId}/members`, { email: 'member@example.com', role: 'member' })).statusCode, 303);
  });
  after(async () => { await t.close(); });

  test('a member sees the projects and the usage but no management forms', async () => {
    const res = await member.get(`/projects?org=${d.orgId}`);
    assert.equal(res.statusCode, 200);
    assert.match(res.body, /owned\.example\.com/);
    assert.match(res.body, /<p id="plan-usage"><b>Basic<\/b> plan: <b>0<\/b> of 5 users/);
    assert.doesNotMatch(res.body, /Create a project|Generate account secret/);
    const detail = await member.get(`/projects/${d.domainId}`);
    assert.equal(detail.statusCode, 200);
    assert.doesNotMatch(detail.body, /Rotate secret|Delete project/);
  });

  test('a member cannot create, rotate or delete', async () => {
    const create = await member.post('/projects', { orgId: d.orgId, domainName: 'mine.example.com', projectName: 'Mine' });
    assert.equal(create.statusCode, 403);
    assert.match(create.body, /Only owners and admins of the organisation may manage projects/);
    assert.equal((await member.post(`/projects/${d.domainId}/rotate`, {})).statusCode, 403);
    assert.equal((await member.post(`/projects/${d.domainId}/delete`, {})).statusCode, 403);
    const n = await t.db.kysely.selectFrom('domains').select('id').execute();
    assert.equal(n.length, 1);
  });

  test('someone outside the organisation gets not found', async () => {
    assert.equal((await stranger.get(`/projects/${d.domainId}`)).statusCode, 404);
    const list = await stranger.get(`/projects?org=${d.orgId}`);
    assert.doesNotMatch(list.body, /owned\.example\.com/);
    assert.equal((await stranger.post(`/projects/${d.domainId}/delete`, {})).statusCode, 404);
  });

  test('a bad domain name re-renders the form with the message; a forged form is refused', async () => {
    await d.person.get('/projects');
    const bad = await d.person.post('/projects', { orgId: d.orgId, domainName: 'not a domain', projectName: 'X' });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /domain_name: must be a host name such as &quot;example.com&quot;/);
    assert.match(bad.body, /value="not a domain"/);
    const forged = await d.person.post('/projects', { orgId: d.orgId, domainName: 'forged.example.com' }, { csrf: null });
    assert.equal(forged.statusCode, 403);
    assert.equal((await t.db.kysely.selectFrom('domains').select('id').execute()).length, 1);
  });

  test('deleting a project in the portal removes its users and frees the slots', async () => {
    const res = await d.person.post(`/projects/${d.domainId}/delete`, {});
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, `/projects?org=${d.orgId}`);
    assert.equal((await t.db.kysely.selectFrom('domains').select('id').execute()).length, 0);
  });
});
