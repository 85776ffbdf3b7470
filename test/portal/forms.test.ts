// Portal forms over HTTP: every successful post answers 303 (post/redirect/get), so a reload
// repeats a GET and changes nothing; a secret made by a post is shown exactly once, on the page
// the redirect leads to, and never in a URL; a failed form keeps what was typed and shows every
// field's message beside the field; malformed ids in the address are a styled 404.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { ALL_PERMISSIONS, PortalClient, seedConnectorFlow } from '../helpers/portal.js';

const errorText = (body: string) => /<div class="error" role="alert">([^<]*)<\/div>/.exec(body)?.[1];
const fieldError = (body: string, name: string) => new RegExp(`<p class="field-error" id="f-${name}-error">([^<]*)</p>`).exec(body)?.[1];

describe('portal forms', () => {
  let t: TestApp;
  let flow: Awaited<ReturnType<typeof seedConnectorFlow>>;

  before(async () => {
    t = await createTestApp();
    flow = await seedConnectorFlow(t.app, { phone: '+14155550171' });
  });
  after(async () => { await t.close(); });

  const count = async (table: 'connectors' | 'organizations' | 'groups' | 'messages' | 'domains' | 'grants' | 'group_members' | 'users') =>
    Number((await t.db.kysely.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);

  test('a created connector\'s secret is shown once after the redirect, never in a URL, and a reload creates nothing', async () => {
    const p = flow.person;
    await p.get('/connectors/new');
    const before = await count('connectors');
    const res = await p.post('/connectors', { orgId: flow.orgId, name: 'Once', permissions: ['groupinfo.read'] });
    assert.equal(res.statusCode, 303);
    const location = res.headers.location as string;
    assert.match(location, /^\/connectors\/[0-9a-f-]{36}$/);
    assert.equal(await count('connectors'), before + 1);
    const shown = await p.get(location);
    const secret = /id="connector-secret">([^<]+)</.exec(shown.body)?.[1];
    assert.match(secret ?? '', /^tcs_/);
    assert.match(shown.body, /<b>Connector created\. Copy the secret now: it is shown only once/);
    assert.match(shown.body, /<button type="button" class="copy" data-copy="connector-secret" aria-label="Copy"><\/button>/);
    assert.ok(!location.includes(secret!) && !String(res.headers['set-cookie']).includes(secret!), 'the secret travels only encrypted');
    // The reload: the same GET again. The page is there, the secret is not, nothing was created.
    const reload = await p.get(location);
    assert.equal(reload.statusCode, 200);
    assert.doesNotMatch(reload.body, /id="connector-secret"/);
    assert.equal(await count('connectors'), before + 1);
  });

  test('a flash opens only in the browser that made it', async () => {
    const p = flow.person;
    await p.get(`/groups/${flow.groupId}`);
    const res = await p.post(`/groups/${flow.groupId}/connectors`, { connectorId: flow.connector.id });
    assert.equal(res.statusCode, 303);
    const flash = /tessera_flash=([^;]+)/.exec(String(res.headers['set-cookie']))![1]!;
    // Someone else's browser (another session) presenting the cookie sees no token.
    const other = new PortalClient(t.app);
    await other.signup('other-flash@example.com');
    const stolen = await t.app.inject({ url: `/groups/${flow.groupId}`, headers: { cookie: `tessera_session=${other.cookie('tessera_session')}; tessera_flash=${flash}` } });
    assert.doesNotMatch(stolen.body, /id="refresh-token"/);
    const mine = await p.get(res.headers.location as string);
    assert.match(mine.body, /id="refresh-token">trt_/);
  });

  test('every successful form post redirects; following it twice changes nothing', async () => {
    const p = flow.person;
    const cases: [string, Record<string, string | string[]>, () => Promise<number>][] = [
      ['/orgs', { name: 'Second org' }, () => count('organizations')],
      [`/orgs/${flow.orgId}/groups`, { name: 'Night shift', welcomeMessage: 'hi' }, () => count('groups')],
      ['/groups', { orgId: flow.orgId, name: 'From the Groups page' }, () => count('groups')],
      [`/groups/${flow.groupId}/messages`, { message: 'posted once' }, () => count('messages')],
      [`/groups/${flow.groupId}/members`, { phone: '+14155550172', role: 'member' }, () => count('group_members')],
      ['/projects', { orgId: flow.orgId, domainName: 'forms.example.com' }, () => count('domains')],
    ];
    for (const [url, form, rows] of cases) {
      const before = await rows();
      const res = await p.post(url, form);
      assert.equal(res.statusCode, 303, `${url}: ${res.body.slice(0, 300)}`);
      assert.equal(await rows(), before + 1, url);
      const page = await p.get(res.headers.location as string);
      assert.equal(page.statusCode, 200, url);
      assert.match(page.body, /<div class="notice" role="status" id="flash">/, `${url} confirms what it did`);
      await p.get(res.headers.location as string);
      assert.equal(await rows(), before + 1, url);
    }
  });

  test('a failed sign-up keeps what was typed and names every wrong field beside it', async () => {
    const p = new PortalClient(t.app);
    await p.get('/signup');
    const users = await count('users');
    const res = await p.post('/signup', { name: '   ', email: 'not-an-email', password: 'short' });
    assert.equal(res.statusCode, 400);
    assert.equal(errorText(res.body), 'name: must not be empty');
    assert.deepEqual([fieldError(res.body, 'name'), fieldError(res.body, 'email'), fieldError(res.body, 'password')],
      ['must not be empty', 'must be an email address', 'must be at least 10 characters']);
    assert.match(res.body, /<input type="email" id="f-email" name="email" value="not-an-email"/);
    assert.doesNotMatch(res.body, /value="short"/, 'a password is never sent back');
    // Over the limits the browser enforces too (maxlength): still the form, with every field named.
    const long = await p.post('/signup', { name: 'n'.repeat(101), email: `${'e'.repeat(250)}@x.io`, password: 'p'.repeat(257) });
    assert.equal(long.statusCode, 400);
    assert.deepEqual([fieldError(long.body, 'name'), fieldError(long.body, 'email'), fieldError(long.body, 'password')],
      ['must be at most 100 characters', 'must be at most 254 characters', 'must be at most 256 characters']);
    assert.match(long.body, /maxlength="100"/);
    assert.equal(await count('users'), users);
  });

  test('an over-long phone number keeps the form', async () => {
    const res = await flow.person.post('/phones', { phone: `+1${'5'.repeat(40)}` });
    assert.equal(res.statusCode, 400);
    assert.equal(fieldError(res.body, 'phone'), 'must be at most 32 characters');
    assert.match(res.body, /<h1>Phone numbers<\/h1>/);
    assert.match(res.body, /maxlength="32"/);
  });

  test('a group offers only connectors that have no access yet, and an empty choice asks to choose one', async () => {
    const p = flow.person;
    const other = await p.createConnector(flow.orgId, 'Not yet granted', ALL_PERMISSIONS);
    const page = await p.get(`/groups/${flow.groupId}`);
    const options = [.../<select id="connector-select" name="connectorId">([\s\S]*?)<\/select>/.exec(page.body)![1]!.matchAll(/<option value="([^"]*)"/g)].map((m) => m[1]);
    assert.ok(options.includes(other.id) && !options.includes(flow.connector.id), JSON.stringify(options));
    const empty = await p.post(`/groups/${flow.groupId}/connectors`, { connectorId: '', connectorIdManual: '' });
    assert.equal(empty.statusCode, 400);
    assert.equal(fieldError(empty.body, 'connectorId'), 'choose a connector, or enter a connector ID');
  });

  test('HTML routes answer styled 404 pages for unknown paths and malformed ids', async () => {
    for (const url of ['/nope', '/groups/abc', '/connectors/123', '/orgs/not-an-id']) {
      const res = await flow.person.get(url);
      assert.equal(res.statusCode, 404, url);
      assert.match(String(res.headers['content-type']), /^text\/html/);
      assert.match(res.body, /<h1>Not found<\/h1>/, url);
      assert.match(res.body, /<link rel="icon" href="\/favicon.svg"/);
    }
    const icon = await t.app.inject({ url: '/favicon.svg' });
    assert.deepEqual([icon.statusCode, icon.headers['content-type']], [200, 'image/svg+xml']);
  });

  test('counts read as English', async () => {
    const p = new PortalClient(t.app);
    await p.signup('counts@example.com');
    await p.verifyPhone('+14155550173');
    await p.createOrg('Only one');
    const dash = await p.get('/dashboard');
    assert.match(dash.body, /<div class="card" id="counts">1 phone number · 1 organisation · 0 groups · 0 connectors<\/div>/);
  });
});
