// The audit log: entries written with the change they record (actor, client address, user agent,
// target, a summary without secrets), none when the change failed; an organisation's log for its
// owners and admins only (filters, pages, CSV and JSON Lines exports, the API with a private
// access token); a person's own security events; retention applied by the pruner.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { accessToken, ALL_PERMISSIONS, PortalClient, seedConnectorFlow } from '../helpers/portal.js';
import { privateToken, bearer } from '../platforms/helpers.js';
import { enrolTwoFactor, codeAt } from '../identity/helpers.js';
import { prune } from '../../src/db/retention.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { createUser, domainToken, seedDomain } from '../kandy/setup.js';

describe('the audit log', () => {
  let t: TestApp;
  let olga: PortalClient;
  let orgId = '';
  let other: PortalClient;
  let otherOrg = '';

  before(async () => {
    t = await createTestApp();
    olga = new PortalClient(t.app);
    await olga.signup('olga@example.com', 'Olga Owner');
    // Registering connectors needs a verified phone number (the seed's first step).
    await olga.verifyPhone('+14155550123');
    orgId = await olga.createOrg('Audited Ltd');
    other = new PortalClient(t.app);
    await other.signup('otto@example.com', 'Otto Other');
    otherOrg = await other.createOrg('Elsewhere GmbH');
  });
  after(async () => { await t.close(); });

  const entries = (where: { action?: string; org?: string | null } = {}) => {
    let q = t.db.kysely.selectFrom('audit_events').selectAll().orderBy('id');
    if (where.action) q = q.where('action', '=', where.action);
    if (where.org !== undefined) q = where.org === null ? q.where('org_id', 'is', null) : q.where('org_id', '=', where.org);
    return q.execute();
  };
  const last = async (action: string) => (await entries({ action })).at(-1);

  test('organisation changes are recorded with who, from where, what and a summary', async () => {
    const ada = new PortalClient(t.app);
    await ada.signup('ada@example.com', 'Ada Admin');
    await olga.get(`/orgs/${orgId}`);
    assert.equal((await olga.post(`/orgs/${orgId}/members`, { email: 'ada@example.com', role: 'member' })).statusCode, 303);
    const added = await last('org.member_added');
    assert.equal(added?.org_id, orgId);
    assert.equal(added?.actor_type, 'user');
    assert.equal(added?.summary, 'ada@example.com as member');
    assert.equal(added?.ip, '127.0.0.1');
    assert.equal(added?.user_agent, 'lightMyRequest');
    const adaId = added!.target_id;
    assert.equal((await olga.post(`/orgs/${orgId}/members/${adaId}/role`, { role: 'admin' })).statusCode, 303);
    assert.equal((await last('org.member_role_changed'))?.summary, 'member → admin');

    const connector = await olga.createConnector(orgId, 'Audit bot', ['groupinfo.read']);
    const created = await last('connector.created');
    assert.deepEqual([created?.target_type, created?.target_id, created?.summary], ['connector', connector.id, 'Audit bot (groupinfo.read)']);
    // Nothing secret is written: neither the connector's secret nor its hash.
    const all = JSON.stringify(await entries());
    assert.equal(all.includes(connector.secret), false);
  });

  test('a change that fails writes no entry (it rolled back, or never started)', async () => {
    const before = (await entries({ org: orgId })).length;
    await olga.get(`/orgs/${orgId}`);
    // Already a member: refused.
    assert.equal((await olga.post(`/orgs/${orgId}/members`, { email: 'ada@example.com', role: 'member' })).statusCode, 409);
    // The last owner cannot leave: the removal ran and was rolled back.
    const olgaId = (await t.db.kysely.selectFrom('users').select('id').where('email', '=', 'olga@example.com').executeTakeFirstOrThrow()).id;
    assert.equal((await olga.post(`/orgs/${orgId}/members/${olgaId}/remove`, {})).statusCode, 409);
    // A connector without a name.
    await olga.get('/connectors/new');
    assert.equal((await olga.post('/connectors', { orgId, name: '', description: 'x', permissions: ['groupinfo.read'] })).statusCode, 400);
    assert.equal((await entries({ org: orgId })).length, before);
  });

  test('log-ins, failed log-ins, logouts, password and two-factor changes are the person\'s security events', async () => {
    const p = new PortalClient(t.app);
    await p.signup('sam@example.com', 'Sam Secure');
    const samId = (await t.db.kysely.selectFrom('users').select('id').where('email', '=', 'sam@example.com').executeTakeFirstOrThrow()).id;
    const guesser = new PortalClient(t.app, '203.0.113.9');
    await guesser.get('/login');
    assert.equal((await guesser.post('/login', { email: 'sam@example.com', password: 'not the password' })).statusCode, 401);
    const failed = await last('login.failed');
    assert.deepEqual([failed?.actor_type, failed?.actor_id, failed?.target_id, failed?.summary, failed?.ip], ['anonymous', '203.0.113.9', samId, 'wrong password', '203.0.113.9']);
    assert.equal(JSON.stringify(failed).includes('not the password'), false, 'the attempted password is not kept');

    await p.get('/account');
    assert.equal((await p.post('/account/password', { current_password: 'correct horse battery', new_password: 'a much better passphrase 42' })).statusCode, 303);
    assert.equal((await last('password.changed'))?.target_id, samId);
    const { secret } = await enrolTwoFactor(p, t.clock);
    assert.equal((await last('two_factor.enabled'))?.summary, 'authenticator app, 10 recovery codes');
    t.clock.advance(30_000);
    await p.get('/account');
    assert.equal((await p.post('/account/two-factor/disable', { password: 'a much better passphrase 42', code: codeAt(secret, t.clock.now()) })).statusCode, 303);
    assert.ok(await last('two_factor.disabled'));
    await p.post('/logout', {});
    assert.equal((await last('logout'))?.actor_id, samId);

    const again = new PortalClient(t.app);
    await again.get('/login');
    assert.equal((await again.post('/login', { email: 'sam@example.com', password: 'a much better passphrase 42' })).statusCode, 303);
    const page = await again.get('/account/security');
    assert.equal(page.statusCode, 200);
    const rows = [...page.body.matchAll(/<td><code>([a-z_.]+)<\/code><\/td>/g)].map((m) => m[1]);
    // Newest first; signing up starts a session without a log-in, and the code checked to turn
    // 2FA off is part of that change, not a log-in.
    assert.deepEqual(rows, ['login.password', 'logout', 'two_factor.disabled', 'two_factor.enabled', 'password.changed', 'login.failed']);
    assert.match(page.body, /someone at 203\.0\.113\.9/);
    // Another person's events are not among them.
    assert.doesNotMatch(page.body, /olga@example\.com/);
  });

  test('the organisation\'s log: owners and admins only; another organisation\'s entries never shown', async () => {
    const page = await olga.get(`/orgs/${orgId}/audit`);
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /<code>connector\.created<\/code>/);
    assert.match(page.body, /Audit bot \(groupinfo\.read\)/);
    // Otto's organisation was created too; none of it shows here, and his log shows none of this.
    assert.doesNotMatch(page.body, /Elsewhere GmbH/);
    const ottos = await other.get(`/orgs/${otherOrg}/audit`);
    assert.match(ottos.body, /<code>org\.created<\/code>/);
    assert.doesNotMatch(ottos.body, /Audit bot/);
    // Otto cannot read Olga's organisation's log: it does not exist for him.
    assert.equal((await other.get(`/orgs/${orgId}/audit`)).statusCode, 404);
    assert.equal((await other.get(`/orgs/${orgId}/audit.csv`)).statusCode, 404);
    // A plain member may not read it.
    const mo = new PortalClient(t.app);
    await mo.signup('mo@example.com', 'Mo Member');
    await olga.get(`/orgs/${orgId}`);
    await olga.post(`/orgs/${orgId}/members`, { email: 'mo@example.com', role: 'member' });
    assert.equal((await mo.get(`/orgs/${orgId}/audit`)).statusCode, 403);
  });

  test('filters by actor, action family, target and time; pages back with "Older entries"', async () => {
    const byAction = await olga.get(`/orgs/${orgId}/audit?action=org`);
    const actions = [...byAction.body.matchAll(/<td><code>([a-z_.]+)<\/code><\/td>/g)].map((m) => m[1]!);
    assert.ok(actions.length >= 3);
    assert.ok(actions.every((a) => a.startsWith('org.')), actions.join());
    const byActor = await olga.get(`/orgs/${orgId}/audit?actor=${encodeURIComponent('OLGA@example.com')}&action=connector.created`);
    assert.equal([...byActor.body.matchAll(/<td><code>connector\.created<\/code><\/td>/g)].length, 1);
    const connectorId = (await last('connector.created'))!.target_id;
    const byTarget = await olga.get(`/orgs/${orgId}/audit?target=${connectorId}`);
    assert.equal([...byTarget.body.matchAll(/<tr><td class="muted">/g)].length, 1);
    const future = new Date(t.clock.now() + 2 * 86_400_000).toISOString().slice(0, 10);
    assert.match((await olga.get(`/orgs/${orgId}/audit?from=${future}`)).body, /No entries\./);
    const bad = await olga.get(`/orgs/${orgId}/audit?from=yesterday-ish`);
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /must be a date \(YYYY-MM-DD\) or a time \(ISO 8601\)/);
    assert.equal((await olga.get(`/orgs/${orgId}/audit?action=${encodeURIComponent("x' or 1=1")}`)).statusCode, 400);

    // Sixty more entries: two pages, the second older than the first, nothing repeated.
    for (let i = 0; i < 60; i++) await olga.createConnector(orgId, `Bulk ${i}`, ['groupinfo.read']);
    const first = await olga.get(`/orgs/${orgId}/audit?action=connector`);
    const ids1 = [...first.body.matchAll(/<code>connector\.created<\/code><\/td><td><span class="muted">connector<\/span><br><code>([0-9a-f-]+)<\/code>/g)].map((m) => m[1]!);
    assert.equal(ids1.length, 50);
    const next = /href="([^"]+)" rel="next"/.exec(first.body)![1]!.replaceAll('&amp;', '&');
    assert.match(next, /^\/orgs\/[0-9a-f-]+\/audit\?action=connector&before=[0-9a-f-]{36}$/);
    const second = await olga.get(next);
    const ids2 = [...second.body.matchAll(/<code>connector\.created<\/code><\/td><td><span class="muted">connector<\/span><br><code>([0-9a-f-]+)<\/code>/g)].map((m) => m[1]!);
    assert.equal(ids2.length, 11);
    assert.equal(new Set([...ids1, ...ids2]).size, 61);
    assert.doesNotMatch(second.body, /rel="next"/);
  });

  test('exports: CSV (formulas defused) and JSON Lines, with the page\'s filter', async () => {
    await olga.createConnector(orgId, '=HYPERLINK("http://evil.example")', ['groupinfo.read']);
    const csv = await olga.get(`/orgs/${orgId}/audit.csv?action=connector.created`);
    assert.equal(csv.statusCode, 200);
    assert.equal(csv.headers['content-type'], 'text/csv; charset=utf-8');
    assert.match(String(csv.headers['content-disposition']), /^attachment; filename="audit-[0-9a-f-]+-\d{4}-\d{2}-\d{2}\.csv"$/);
    const lines = csv.body.trimEnd().split('\r\n');
    assert.equal(lines[0], 'time,action,actor_type,actor_id,actor_email,target_type,target_id,summary,ip,user_agent');
    assert.equal(lines.length, 1 + 62, "Audit bot, 60 bulk ones and this one");
    assert.match(lines[1]!, /^\d{4}-\d{2}-\d{2}T[\d:.]+Z,connector\.created,user,[0-9a-f-]+,olga@example\.com,connector,[0-9a-f-]+,"'=HYPERLINK\(""http:\/\/evil\.example""\) \(groupinfo\.read\)",127\.0\.0\.1,lightMyRequest$/);
    const jsonl = await olga.get(`/orgs/${orgId}/audit.jsonl?action=connector.created`);
    assert.equal(jsonl.headers['content-type'], 'application/jsonl; charset=utf-8');
    const objects = jsonl.body.trimEnd().split('\n').map((l) => JSON.parse(l) as { action: string; actor: { email: string }; summary: string });
    assert.equal(objects.length, 62);
    assert.deepEqual([objects[0]!.action, objects[0]!.actor.email, objects[0]!.summary], ['connector.created', 'olga@example.com', '=HYPERLINK("http://evil.example") (groupinfo.read)']);
  });

  test('the API: a private access token with directory.audit_log.r reads its organisation\'s log, paged by Link', async () => {
    const token = await privateToken(olga, orgId, ['directory.audit_log.r'], 'SIEM export');
    const created = await last('private_token.created');
    assert.equal(created?.summary, 'SIEM export: directory.audit_log.r, 365 days');
    assert.equal(JSON.stringify(created).includes(token), false);
    const res = await t.app.inject({ method: 'GET', url: '/api/v1/organization/audit_events?action=connector&per_page=20', headers: bearer(token) });
    assert.equal(res.statusCode, 200);
    const body = res.json() as { id: string; action: string; time: string; actor: { email: string } }[];
    assert.equal(body.length, 20);
    assert.ok(body.every((e) => e.action.startsWith('connector.')));
    const link = String(res.headers.link);
    assert.match(link, /^<http:\/\/tessera\.test\/api\/v1\/organization\/audit_events\?action=connector&per_page=20&before=[0-9a-f-]{36}>; rel="next"$/);
    const next = await t.app.inject({ method: 'GET', url: link.slice(link.indexOf('/api'), link.indexOf('>')), headers: bearer(token) });
    assert.equal((next.json() as unknown[]).length, 20);
    assert.ok((next.json() as { id: string }[])[0]!.id < body.at(-1)!.id);
    // A token without the scope, and a bad filter, in Zaikio's error shape.
    const plain = await privateToken(olga, orgId, ['directory.organization.r'], 'Directory only');
    const refused = await t.app.inject({ method: 'GET', url: '/api/v1/organization/audit_events', headers: bearer(plain) });
    assert.equal(refused.statusCode, 403);
    assert.deepEqual(refused.json(), { errors: ['unpermitted_scope'] });
    const bad = await t.app.inject({ method: 'GET', url: '/api/v1/organization/audit_events?to=tomorrow', headers: bearer(token) });
    assert.equal(bad.statusCode, 400);
    assert.deepEqual(bad.json(), { errors: { to: ['must be a date (YYYY-MM-DD) or a time (ISO 8601)'] } });
    // Another organisation's token sees only its own entries.
    const ottoToken = await privateToken(other, otherOrg, ['directory.audit_log.r'], 'Otto');
    const ottos = (await t.app.inject({ method: 'GET', url: '/api/v1/organization/audit_events?per_page=100', headers: bearer(ottoToken) })).json() as { actor: { email: string | null } }[];
    assert.ok(ottos.length > 0);
    assert.ok(ottos.every((e) => e.actor.email === 'otto@example.com'), JSON.stringify(ottos.map((e) => e.actor.email)));
  });

  test('revoking a private token and withdrawing a consent are recorded', async () => {
    const token = await privateToken(olga, orgId, ['directory.organization.r'], 'Short-lived');
    const id = (await last('private_token.created'))!.target_id;
    await olga.get(`/orgs/${orgId}/private-tokens`);
    assert.equal((await olga.post(`/orgs/${orgId}/private-tokens/${id}/revoke`, {})).statusCode, 303);
    assert.equal((await last('private_token.revoked'))?.summary, 'Short-lived');
    assert.ok(token);
  });

  test('changes through the APIs are recorded with the connector as the actor; a key rotation with the system', async () => {
    const rx = createServer((req, res) => {
      if (req.method === 'GET') return res.writeHead(200, { 'content-type': 'text/plain' }).end(new URL(req.url!, 'http://x').searchParams.get('validationToken') ?? '');
      res.writeHead(200).end();
    });
    await new Promise<void>((resolve) => rx.listen(0, '127.0.0.1', resolve));
    try {
      const s = await seedConnectorFlow(t.app, { email: 'hooks@example.com', phone: '+14155550188', orgName: 'Hooked Ltd', permissions: [...ALL_PERMISSIONS, 'webhook.read', 'webhook.write'] });
      const headers = { accessToken: (await accessToken(t.app, s.connector, s.refreshToken)).json().accessToken as string };
      const url = `http://127.0.0.1:${(rx.address() as AddressInfo).port}/hook?secret=do-not-log-me`;
      const hook = await t.app.inject({ method: 'POST', url: '/v1/webhook', headers, payload: { objectId: s.groupId, objectType: 'Group', eventTypes: ['TextMessageCreated'], callBackUrl: url } });
      assert.equal(hook.statusCode, 201, hook.body);
      const created = await last('webhook.created');
      assert.deepEqual([created?.actor_type, created?.actor_id, created?.org_id, created?.target_id], ['connector', s.connector.id, s.orgId, hook.json().webhookId]);
      assert.equal(created?.summary, `Inventory bot: TextMessageCreated on group ${s.groupId} → 127.0.0.1:${(rx.address() as AddressInfo).port}`);
      assert.equal(JSON.stringify(await entries()).includes('do-not-log-me'), false, 'the callback\'s query is not kept');
      assert.equal((await t.app.inject({ method: 'PUT', url: `/v1/webhook/${hook.json().webhookId}`, headers, payload: { Active: false } })).statusCode, 200);
      assert.equal((await last('webhook.updated'))?.summary, 'Inventory bot: changed Active');
      assert.equal((await t.app.inject({ method: 'DELETE', url: `/v1/webhook/${hook.json().webhookId}`, headers })).statusCode, 200);
      assert.ok(await last('webhook.deleted'));
      // A webhook refused (not Group) writes nothing.
      const before = (await entries()).length;
      assert.equal((await t.app.inject({ method: 'POST', url: '/v1/webhook', headers, payload: { objectId: s.groupId, objectType: 'User', eventTypes: ['TextMessageCreated'], callBackUrl: url } })).statusCode, 400);
      assert.equal((await entries()).length, before);
    } finally {
      rx.close();
    }
    const kid = await t.services.deps.keys.rotate();
    const rotated = await last('signing_key.rotated');
    assert.deepEqual([rotated?.actor_type, rotated?.target_id, rotated?.org_id], ['system', kid, null]);
  });

  test('group members and subgroups, through the portal and through the platform API', async () => {
    const s = await seedConnectorFlow(t.app, { email: 'groups@example.com', phone: '+14155550177', orgName: 'Grouped Ltd' });
    const headers = { accessToken: (await accessToken(t.app, s.connector, s.refreshToken)).json().accessToken as string, 'user-agent': 'inventory-bot/2.1' };
    const group = await t.db.kysely.selectFrom('groups').select('name').where('id', '=', s.groupId).executeTakeFirstOrThrow();
    const fields = (e: Awaited<ReturnType<typeof last>>) => e && [e.actor_type, e.actor_id, e.org_id, e.target_type, e.summary, e.ip, e.user_agent];

    const put = await t.app.inject({ method: 'PUT', url: `/v1/groups/${s.groupId}/members`, headers, payload: { members: ['+14155550901', '+14155550902', '+14155550901'] } });
    assert.deepEqual(put.json(), { result: true, membersAdded: 2 });
    const added = (await entries({ action: 'group.member_added' })).slice(-2);
    assert.deepEqual(added.map(fields), ['+14155550901', '+14155550902'].map((phone) => ['connector', s.connector.id, s.orgId, 'group_member', `${phone} as member in ${group.name}`, '127.0.0.1', 'inventory-bot/2.1']));
    // Adding numbers already there adds (and records) nothing.
    assert.deepEqual((await t.app.inject({ method: 'PUT', url: `/v1/groups/${s.groupId}/members`, headers, payload: { members: ['+14155550901'] } })).json(), { result: true, membersAdded: 0 });
    assert.equal((await entries({ action: 'group.member_added' })).length, 2);

    const memberId = added[0]!.target_id;
    assert.equal((await t.app.inject({ method: 'DELETE', url: `/v1/groups/${s.groupId}/members/${memberId}`, headers })).statusCode, 200);
    assert.deepEqual(fields(await last('group.member_removed')), ['connector', s.connector.id, s.orgId, 'group_member', `+14155550901 (member) from ${group.name}`, '127.0.0.1', 'inventory-bot/2.1']);
    // A member already gone: 404, no entry.
    const count = (await entries()).length;
    assert.equal((await t.app.inject({ method: 'DELETE', url: `/v1/groups/${s.groupId}/members/${memberId}`, headers })).statusCode, 404);
    // A subgroup with a bad number is refused before anything is written.
    assert.equal((await t.app.inject({ method: 'POST', url: `/v1/groups/${s.groupId}/subGroups`, headers, payload: { name: 'Night shift', members: ['+14155550903', 'not a number'] } })).statusCode, 400);
    assert.equal((await entries()).length, count);

    const sub = await t.app.inject({ method: 'POST', url: `/v1/groups/${s.groupId}/subGroups`, headers, payload: { name: 'Night shift', members: ['+14155550903'] } });
    assert.equal(sub.statusCode, 201, sub.body);
    const created = (await entries()).slice(count);
    assert.deepEqual(created.map((e) => [e.action, e.actor_type, e.target_type, e.summary]), [
      ['group.created', 'connector', 'group', 'Night shift with 1 member'],
    ], 'the subgroup\'s members are counted in its entry');
    assert.equal(created[0]!.target_id, sub.json().groupId);

    // The portal: the group's admin adds and removes a member.
    const admin = s.person;
    assert.equal((await admin.post(`/groups/${s.groupId}/members`, { phone: '+14155550904', role: 'admin' })).statusCode, 303);
    const portalAdded = await last('group.member_added');
    assert.deepEqual([portalAdded?.actor_type, portalAdded?.org_id, portalAdded?.summary, portalAdded?.user_agent], ['user', s.orgId, `+14155550904 as admin in ${group.name}`, 'lightMyRequest']);
    assert.equal((await admin.post(`/groups/${s.groupId}/members/${portalAdded!.target_id}/delete`, {})).statusCode, 303);
    assert.equal((await last('group.member_removed'))?.summary, `+14155550904 (admin) from ${group.name}`);
    // The organisation's log names the connector.
    const page = await admin.get(`/orgs/${s.orgId}/audit?action=group`);
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /Inventory bot/);
  });

  test('Kandy projects and provisioned users: the portal person, the account key or the project key as the actor', async () => {
    const d = await seedDomain(t, { email: 'kandy-audit@example.com', orgName: 'Provisioned Ltd', domainName: 'audited.example.com' });
    const created = await last('domain.created');
    assert.deepEqual([created?.actor_type, created?.org_id, created?.target_id, created?.summary], ['user', d.orgId, d.domainId, 'audited.example.com']);
    const token = await domainToken(t.app, d);
    const before = (await entries()).length;
    // Refused (the user id is taken by nobody, but the country code is wrong): nothing recorded.
    assert.equal((await createUser(t.app, token, { user_id: 'ann', user_country_code: 'XX' })).statusCode, 400);
    assert.equal((await entries()).length, before);
    const made = await createUser(t.app, token, { user_id: 'ann', user_country_code: 'US' });
    assert.equal(made.statusCode, 200, made.body);
    const user = await last('domain_user.created');
    assert.deepEqual([user?.actor_type, user?.actor_id, user?.org_id, user?.target_type, user?.summary, user?.ip], ['kandy_project', d.domainId, d.orgId, 'domain_user', 'ann@audited.example.com', '127.0.0.1']);
    assert.equal(JSON.stringify(await entries()).includes(made.json().result.user_password), false, 'the generated password is not recorded');
    assert.equal((await t.app.inject({ method: 'DELETE', url: `/v1.2/domains/users?key=${token}&user_id=ann` })).statusCode, 200);
    const gone = await last('domain_user.deleted');
    assert.deepEqual([gone?.actor_type, gone?.target_id, gone?.summary], ['kandy_project', user!.target_id, 'ann@audited.example.com']);
    assert.equal((await t.app.inject({ method: 'DELETE', url: `/v1.2/domains/users?key=${token}&user_id=ann` })).statusCode, 404);
    assert.equal((await entries({ action: 'domain_user.deleted' })).length, 1);

    const account = (await t.app.inject({ method: 'GET', url: `/v1.2/accounts/accesstokens?key=${d.accountKey}&account_api_secret=${d.accountSecret}` })).json().result.account_access_token as string;
    const domain = await t.app.inject({ method: 'POST', url: `/v1.2/accounts/domains?key=${account}`, payload: { domain_name: 'second.example.com' } });
    assert.equal(domain.statusCode, 200, domain.body);
    const viaKey = await last('domain.created');
    assert.deepEqual([viaKey?.actor_type, viaKey?.summary], ['kandy_account', 'second.example.com']);
    assert.equal((await t.app.inject({ method: 'DELETE', url: `/v1.2/accounts/domains?key=${account}&domain_name=second.example.com` })).statusCode, 200);
    assert.deepEqual([(await last('domain.deleted'))?.actor_type, (await last('domain.deleted'))?.summary], ['kandy_account', 'second.example.com']);
  });

  test('retention: the pruner removes entries older than AUDIT_RETENTION_DAYS, and 0 keeps them all', async () => {
    const count = async () => (await entries()).length;
    const total = await count();
    const day = 24 * 3600_000;
    assert.equal((await prune(t.db.kysely, t.clock.now() + 2 * day, { auditMs: 0 })).audit_events, 0);
    assert.equal(await count(), total);
    const gone = (await prune(t.db.kysely, t.clock.now() + 2 * day, { auditMs: day })).audit_events;
    assert.equal(gone, total);
    assert.equal(await count(), 0);
    assert.equal(loadConfig({}).auditRetentionMs, 365 * day);
    assert.equal(loadConfig({ AUDIT_RETENTION_DAYS: '30' }).auditRetentionMs, 30 * day);
    assert.throws(() => loadConfig({ AUDIT_RETENTION_DAYS: '-1' }), (e: unknown) => e instanceof ConfigError && /^AUDIT_RETENTION_DAYS must be a whole number of days/.test(e.message));
  });
});
