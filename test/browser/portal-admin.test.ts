// The portal's administration controls in Chromium: an owner re-roles an organisation member
// and a group member, and edits a connector's OAuth settings (with an error shown on the form).
// Screenshots: test-artifacts/portal-admin/.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ARTIFACTS, createListeningApp, launchBrowser, rows, screenshots, submit, text } from '../helpers/browser.js';
import type { TestApp } from '../helpers/app.js';
import { PortalClient } from '../helpers/portal.js';

const SUITE = 'portal-admin';
const snap = screenshots(SUITE);

describe('portal administration in Chromium', () => {
  let t: TestApp & { url: string };
  let browser: Browser;
  let ctx: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];
  let orgId = '';

  before(async () => {
    rmSync(join(ARTIFACTS, SUITE), { recursive: true, force: true });
    browser = await launchBrowser();
    t = await createListeningApp();
    ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await ctx.newPage();
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    // Chromium logs every 4xx page as a failed resource; the refusals here are asserted one by one.
    page.on('console', (m) => {
      if (m.type() === 'error' && !m.location().url.endsWith('/favicon.ico') && !/status of 4\d\d/.test(m.text())) pageErrors.push(`${m.location().url}: ${m.text()}`);
    });
    // The other person only needs an account.
    await new PortalClient(t.app).signup('robin@contoso.example', 'Robin Member');
  });
  after(async () => {
    await ctx?.close();
    await browser?.close();
    await t?.close();
  });

  test('the owner adds a member and makes them an admin', async () => {
    await page.goto(`${t.url}/signup`);
    await page.getByLabel('Name', { exact: true }).fill('Olive Owner');
    await page.getByLabel('Email', { exact: true }).fill('olive@contoso.example');
    await page.getByLabel('Password', { exact: true }).fill('correct horse battery');
    assert.equal(await submit(page, page.getByRole('button', { name: 'Sign up' })), 200);
    await page.goto(`${t.url}/orgs`);
    await page.getByLabel('Name', { exact: true }).fill('Contoso');
    assert.equal(await submit(page, page.getByRole('button', { name: 'Create organisation' })), 200);
    orgId = new URL(page.url()).pathname.split('/')[2]!;

    await page.getByLabel('Add a member by email').fill('robin@contoso.example');
    assert.equal(await submit(page, page.getByRole('button', { name: 'Add member' })), 200);
    const members = page.locator('h2#members + .table table');
    await page.getByLabel('Role of robin@contoso.example').selectOption('admin');
    await snap(page, 'org-change-role');
    assert.equal(await submit(page, members.locator('tr', { hasText: 'robin@contoso.example' }).getByRole('button', { name: 'Change role' })), 200);
    assert.equal(await page.getByLabel('Role of robin@contoso.example').inputValue(), 'admin');
    assert.deepEqual((await rows(members)).map((r) => r.slice(0, 2)), [['Olive Owner (you)', 'olive@contoso.example'], ['Robin Member', 'robin@contoso.example']]);
    await snap(page, 'org-member-is-admin');

    // The last owner cannot step down: the page says why.
    await page.getByLabel('Role of olive@contoso.example').selectOption('member');
    assert.equal(await submit(page, members.locator('tr', { hasText: 'olive@contoso.example' }).getByRole('button', { name: 'Change role' })), 409);
    assert.equal(await text(page.getByRole('alert')), 'role: the organisation must keep at least one owner; make someone else an owner first');
    await snap(page, 'org-last-owner-refused');
  });

  test('the owner makes a group member an admin', async () => {
    await page.goto(`${t.url}/orgs/${orgId}`);
    await page.getByLabel('New group name').fill('Field team');
    assert.equal(await submit(page, page.getByRole('button', { name: 'Create group' })), 200);
    await page.getByLabel('Add a member by phone number').fill('+14155550142');
    assert.equal(await submit(page, page.getByRole('button', { name: 'Add member' })), 200);
    await page.getByLabel('Role of +14155550142').selectOption('admin');
    assert.equal(await submit(page, page.locator('h2#members + .table table').getByRole('button', { name: 'Change role' })), 200);
    assert.equal(await page.getByLabel('Role of +14155550142').inputValue(), 'admin');
    await snap(page, 'group-member-is-admin');
  });

  test("the owner edits a connector's OAuth settings", async () => {
    // Registration itself is covered by the connector flow; here it is set up directly, with
    // the verified phone registration asks for.
    const owner = await t.db.kysely.selectFrom('users').select('id').where('email', '=', 'olive@contoso.example').executeTakeFirstOrThrow();
    const actor = await t.services.accounts.actor(owner.id);
    const { connector } = await t.services.connectors.create({ ...actor, phones: ['+14155550123'] }, orgId, {
      name: 'Web app', permissions: ['groupinfo.read'], redirectUris: 'https://app.example/callback',
    });
    await page.goto(`${t.url}/connectors/${connector.id}`);
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Edit OAuth settings' }).click()]);
    assert.equal(await text(page.locator('main h1')), 'OAuth settings of Web app');
    assert.equal(await page.getByLabel('Redirect URIs').inputValue(), 'https://app.example/callback');

    await page.getByLabel('Redirect URIs').fill('http://app.example/callback');
    assert.equal(await submit(page, page.getByRole('button', { name: 'Save OAuth settings' })), 400);
    assert.equal(await text(page.getByRole('alert')), 'redirectUris: "http://app.example/callback" must use https (http only for loopback addresses)');
    await snap(page, 'oauth-settings-error');

    await page.getByLabel('Redirect URIs').fill('https://app.example/callback\nhttp://127.0.0.1/callback');
    await page.locator('input[name=grantTypes][value=client_credentials]').uncheck();
    await snap(page, 'oauth-settings-form');
    assert.equal(await submit(page, page.getByRole('button', { name: 'Save OAuth settings' })), 200);
    assert.equal(await text(page.getByRole('status')), 'OAuth settings saved.');
    assert.deepEqual(await page.locator('main .card code').allInnerTexts(), [connector.id, 'https://app.example/callback', 'http://127.0.0.1/callback']);
    assert.deepEqual((await page.locator('main .card .tag').allInnerTexts()).slice(1), ['confidential client', 'authorization_code', 'refresh_token']);
    await snap(page, 'oauth-settings-saved');
    assert.deepEqual(pageErrors, [], 'no script or CSP errors in the browser');
  });
});
