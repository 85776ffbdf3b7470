// Every portal page in real Chromium, at 360 px and at 1280 px, with long-text fixtures (100-character
// names, a 4,000-character message without a space): no page scrolls sideways. A reload after a
// form changes nothing and the secret it showed is gone; copy buttons put the value on the
// clipboard; on a narrow screen the menu opens from its button. Screenshots: test-artifacts/portal/.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createListeningApp, launchBrowser, screenshot, submit, text } from '../helpers/browser.js';
import { ALL_PERMISSIONS, PortalClient, accessToken } from '../helpers/portal.js';
import type { TestApp } from '../helpers/app.js';

const PASSWORD = 'correct horse battery';
const LONG = (stem: string) => `${stem}${'x'.repeat(100 - stem.length)}`;

describe('the portal at 360 px and 1280 px', () => {
  let t: TestApp & { url: string };
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const ids: Record<string, string> = {};

  before(async () => {
    t = await createListeningApp();
    // The fixtures, made over HTTP: the longest names the forms accept, and a message without a space.
    const person = new PortalClient(t.app);
    await person.signup('layout@example.com', LONG('Pat Longname'), PASSWORD);
    ids.phone = await person.verifyPhone('+14155550181');
    ids.org = await person.createOrg(LONG('Organisation'));
    ids.group = await person.createGroup(ids.org, LONG('Group'));
    const connector = await person.createConnector(ids.org, LONG('Connector'), ALL_PERMISSIONS, { description: 'd'.repeat(1000) });
    ids.connector = connector.id;
    const refresh = await person.grant(ids.group, connector.id);
    const token = (await accessToken(t.app, connector, refresh)).json().accessToken;
    const posted = await t.app.inject({ method: 'POST', url: `/v1/groups/${ids.group}/messages`, headers: { accessToken: token }, payload: { message: 'm'.repeat(4000) } });
    assert.equal(posted.statusCode, 201);
    await person.get(`/projects?org=${ids.org}`);
    const project = await person.post('/projects', { orgId: ids.org, domainName: `${'sub'.repeat(20)}.${'long'.repeat(15)}.example.com`, projectName: LONG('Project') });
    ids.project = /\/projects\/([0-9a-f-]{36})/.exec(project.headers.location as string)![1]!;
    // A number waiting for its PIN, and an OAuth client whose consent page a person sees.
    await person.get('/phones');
    ids.pending = /\/phones\/([0-9a-f-]{36})\/verify/.exec((await person.post('/phones', { phone: '+14155550184' })).headers.location as string)![1]!;
    ids.client = (await person.createConnector(ids.org, LONG('App'), ['groupinfo.read'], { redirectUris: 'https://app.example/callback' })).id;

    browser = await launchBrowser();
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: t.url });
    page = await context.newPage();
    await page.goto(`${t.url}/login`);
    await page.getByLabel('Email').fill('layout@example.com');
    await page.getByLabel('Password').fill(PASSWORD);
    assert.equal(await submit(page, page.getByRole('button', { name: 'Log in' })), 200);
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  const pages = (): [string, string][] => [
    ['dashboard', '/dashboard'], ['phones', '/phones'], ['outbox', '/outbox'], ['orgs', '/orgs'], ['org', `/orgs/${ids.org}`],
    ['groups', '/groups'], ['group', `/groups/${ids.group}`], ['connectors', '/connectors'], ['connector-new', '/connectors/new'],
    ['connector', `/connectors/${ids.connector}`], ['connector-oauth', `/connectors/${ids.connector}/oauth`], ['projects', `/projects?org=${ids.org}`],
    ['project', `/projects/${ids.project}`], ['consents', '/consents'], ['not-found', '/groups/not-an-id'],
    ['phone-verify', `/phones/${ids.pending}/verify`],
    ['oauth-consent', `/oauth/authorize?${new URLSearchParams({
      response_type: 'code', client_id: ids.client!, redirect_uri: 'https://app.example/callback', scope: `openid groupinfo.read Org/${ids.org}.groupinfo.read`,
      state: 's', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256',
    })}`],
    ['oauth-error', '/oauth/authorize?client_id=nope'],
  ];

  const overflow = () => page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));

  for (const width of [360, 1280]) {
    test(`no page scrolls sideways at ${width} px`, async () => {
      await page.setViewportSize({ width, height: 800 });
      for (const [name, path] of pages()) {
        await page.goto(`${t.url}${path}`);
        const { scroll, client } = await overflow();
        assert.ok(scroll <= client, `${path} at ${width} px is ${scroll} px wide in a ${client} px window`);
        await screenshot(page, 'portal', `${width}-${name}`);
      }
    });
  }

  test('the log-in and sign-up pages fit a 360 px screen too', async () => {
    const anon = await browser.newPage({ viewport: { width: 360, height: 740 } });
    for (const path of ['/login', '/signup']) {
      await anon.goto(`${t.url}${path}`);
      const size = await anon.evaluate(() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]);
      assert.ok(size[0]! <= size[1]!, `${path}: ${size.join(' > ')}`);
      await screenshot(anon, 'portal', `360${path.replace('/', '-')}`);
    }
    await anon.close();
  });

  test('on a narrow screen the menu is one button that opens the links', async () => {
    await page.setViewportSize({ width: 360, height: 800 });
    await page.goto(`${t.url}/dashboard`);
    const groups = page.locator('nav.side').getByRole('link', { name: 'Groups' });
    assert.equal(await groups.isVisible(), false);
    await page.locator('label.nav-button').click();
    assert.equal(await groups.isVisible(), true);
    await screenshot(page, 'portal', '360-menu-open');
    await groups.click();
    await page.waitForURL('**/groups');
  });

  test('a reload after a form changes nothing; the secret it showed is gone; copy puts it on the clipboard', async () => {
    await page.setViewportSize({ width: 1280, height: 800 });
    const connectors = async () => Number((await t.db.kysely.selectFrom('connectors').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    await page.goto(`${t.url}/connectors/new`);
    await page.getByLabel('Name').fill('Reload me');
    await page.getByLabel(/Read group information/).check();
    const before = await connectors();
    assert.equal(await submit(page, page.getByRole('button', { name: 'Create Connector' })), 200);
    assert.equal(await connectors(), before + 1);
    assert.match(new URL(page.url()).pathname, /^\/connectors\/[0-9a-f-]{36}$/);
    const secret = await text(page.locator('#connector-secret'));
    assert.match(secret, /^tcs_/);
    // Breadcrumbs: organisation → connectors → this connector.
    assert.deepEqual((await page.locator('nav.crumbs span').allInnerTexts()).map((s) => s.replace(/^›/, '').trim()), [LONG('Organisation'), 'Connectors', 'Reload me']);
    await screenshot(page, 'portal', '1280-connector-created');

    await page.locator('button.copy[data-copy="connector-secret"]').click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
    await page.locator('button.copy[data-copy="connector-id"]').click();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), await text(page.locator('#connector-id')));

    await page.reload();
    assert.equal(await page.locator('#connector-secret').count(), 0, 'the secret is shown once');
    assert.equal(await text(page.locator('main h1')), 'Reload me');
    assert.equal(await connectors(), before + 1, 'the reload created nothing');

    // The group page: a message posted, then reloaded.
    await page.goto(`${t.url}/groups/${ids.group}`);
    await page.getByLabel('Post a message').fill('Only once, please');
    assert.equal(await submit(page, page.getByRole('button', { name: 'Post' })), 200);
    await page.reload();
    const copies = await t.db.kysely.selectFrom('messages').select('id').where('text', '=', 'Only once, please').execute();
    assert.equal(copies.length, 1);
    assert.equal(await page.locator('#flash').count(), 0, 'the confirmation is shown once');
  });

  test('after every other form, a reload repeats nothing either', async () => {
    await page.setViewportSize({ width: 1280, height: 800 });
    const rows = async (table: 'organizations' | 'groups' | 'group_members' | 'grants' | 'domains' | 'phone_numbers') =>
      Number((await t.db.kysely.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    const forms: [string, string, () => Promise<void>, string, Parameters<typeof rows>[0]][] = [
      ['create an organisation', '/orgs', () => page.getByLabel('Name').fill('Reloaded Org'), 'Create organisation', 'organizations'],
      ['create a group from Groups', '/groups', () => page.getByLabel('Group name').fill('Reloaded group'), 'Create group', 'groups'],
      ['add a member', `/groups/${ids.group}`, () => page.getByLabel('Add a member by phone number').fill('+14155550182'), 'Add member', 'group_members'],
      ['grant a connector', `/groups/${ids.group}`, async () => {
        await page.goto(`${t.url}/connectors/new`);
        await page.getByLabel('Name').fill('Granted on reload test');
        await page.getByLabel(/Read group information/).check();
        await submit(page, page.getByRole('button', { name: 'Create Connector' }));
        await page.goto(`${t.url}/groups/${ids.group}`);
        await page.locator('#connector-select').selectOption({ label: 'Granted on reload test' });
      }, 'Add Connector', 'grants'],
      ['create a project', `/projects?org=${ids.org}`, () => page.getByLabel('Domain name').fill('reload.example.com'), 'Create project', 'domains'],
      ['add a phone number', '/phones', () => page.getByLabel('Phone number').fill('+14155550183'), 'Generate PIN', 'phone_numbers'],
    ];
    for (const [what, path, fill, button, table] of forms) {
      await page.goto(`${t.url}${path}`);
      await fill();
      const before = await rows(table);
      assert.equal(await submit(page, page.getByRole('button', { name: button, exact: true })), 200, what);
      assert.equal(await rows(table), before + 1, what);
      assert.equal(await page.locator('#flash').count(), 1, `${what}: the page confirms it`);
      await page.reload();
      assert.equal(await rows(table), before + 1, `${what}: the reload wrote nothing`);
      assert.equal(await page.locator('#flash').count(), 0, `${what}: the confirmation is shown once`);
    }
    assert.equal(await page.locator('#refresh-token').count(), 0);
  });
});
