// The portal's project pages in real Chromium: a developer signs up, creates an organisation and
// a project, copies the project key and secret from the page, provisions users over the real
// socket with the seed's requests, and sees the users and the plan's usage (5 of 5, limit
// reached) on the pages; revoking the project's tokens in the browser stops the token.
// Screenshots: test-artifacts/kandy/.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ARTIFACTS, createListeningApp, launchBrowser, rows, screenshots, submit, text } from '../helpers/browser.js';
import type { TestApp } from '../helpers/app.js';

const SUITE = 'kandy';
const snap = screenshots(SUITE);

describe('the project pages in Chromium', () => {
  let t: TestApp & { url: string };
  let browser: Browser;
  let ctx: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];
  let key = '';
  let secret = '';
  let token = '';
  let projectUrl = '';

  before(async () => {
    rmSync(join(ARTIFACTS, SUITE), { recursive: true, force: true });
    // The browser first: if it cannot start, no listening app is left behind to keep the process alive.
    browser = await launchBrowser();
    t = await createListeningApp();
    ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await ctx.newPage();
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    page.on('console', (m) => { if (m.type() === 'error' && !m.location().url.endsWith('/favicon.ico')) pageErrors.push(`${m.location().url}: ${m.text()}`); });
  });
  after(async () => {
    await ctx?.close();
    await browser?.close();
    await t?.close();
  });

  const api = async (path: string, init?: RequestInit) => {
    const res = await fetch(`${t.url}${path}`, init);
    return { status: res.status, body: (await res.json()) as { status: number; message: string; result: Record<string, unknown> } };
  };

  test('a developer creates a project and sees its key and secret once', async () => {
    await page.goto(`${t.url}/signup`);
    await page.getByLabel('Name', { exact: true }).fill('Goofy Developer');
    await page.getByLabel('Email', { exact: true }).fill('goofiw@example.com');
    await page.getByLabel('Password', { exact: true }).fill('correct horse battery');
    assert.equal(await submit(page, page.getByRole('button', { name: 'Sign up' })), 200);
    await page.goto(`${t.url}/orgs`);
    await page.getByLabel('Name').fill('Goofiw');
    assert.equal(await submit(page, page.getByRole('button', { name: 'Create organisation' })), 200);

    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.locator('nav.side').getByRole('link', { name: 'Projects', exact: true }).click()]);
    assert.equal(await text(page.locator('main h1')), 'Projects');
    assert.match(await text(page.locator('#account-key')), /^AAK[0-9a-f]{32}$/);
    assert.match(await text(page.locator('#plan-usage')), /^Basic plan: 0 of 5 users/);
    await snap(page, 'projects-empty');

    await page.getByLabel('Domain name').fill('goofiw.gmail.com');
    await page.getByLabel('Project name').fill('Kandi users');
    assert.equal(await submit(page, page.getByRole('button', { name: 'Create project' })), 200);
    assert.equal(await text(page.locator('main h1')), 'Kandi users');
    key = await text(page.locator('#project-key'));
    secret = await text(page.locator('#project-secret'));
    assert.match(key, /^DAK[0-9a-f]{32}$/);
    assert.match(secret, /^DAS[0-9a-f]{32}$/);
    assert.equal(await text(page.locator('#project-key-value')), key);
    await snap(page, 'project-created-secret-once');

    // The project's own page shows the key, never the secret again.
    projectUrl = `${t.url}${(await page.locator('form[action$="/rotate"]').getAttribute('action'))!.replace(/\/rotate$/, '')}`;
    await page.goto(projectUrl);
    assert.equal(await text(page.locator('#project-key-value')), key);
    assert.equal(await page.locator('#project-secret').count(), 0);
    assert.ok(!(await page.content()).includes(secret));
  });

  test('users provisioned with the seed\'s requests appear with the plan\'s usage', async () => {
    const tk = await api(`/v1.2/domains/accesstokens?key=${key}&domain_api_secret=${secret}`);
    assert.equal(tk.body.status, 0);
    token = tk.body.result.domain_access_token as string;
    const create = (body: object) => api(`/v1.2/domains/users/user_id?key=${token}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal((await create({ user_id: 'bob', user_country_code: '+1' })).body.status, 0);
    assert.equal((await create({ user_id: 'carol', user_country_code: 'US', user_first_name: 'Carol', user_last_name: 'Kim', user_email: 'carol@example.com' })).body.status, 0);
    for (const id of ['dave', 'erin', 'frank']) assert.equal((await create({ user_id: id, user_country_code: '+1' })).body.status, 0);
    const sixth = await create({ user_id: 'grace', user_country_code: '+1' });
    assert.equal(sixth.status, 403);
    assert.equal(sixth.body.message, 'failed to register user on compass');

    await page.goto(projectUrl);
    const users = await rows(page.locator('#users'));
    assert.deepEqual(users.map((r) => r.slice(0, 5)), [
      ['bob', 'bob@goofiw.gmail.com', '+1', '', ''],
      ['carol', 'carol@goofiw.gmail.com', 'US', 'Carol Kim', 'carol@example.com'],
      ['dave', 'dave@goofiw.gmail.com', '+1', '', ''],
      ['erin', 'erin@goofiw.gmail.com', '+1', '', ''],
      ['frank', 'frank@goofiw.gmail.com', '+1', '', ''],
    ]);
    assert.match(await text(page.locator('#plan-usage')), /^Basic plan: 5 of 5 users\s+limit reached$/);
    await snap(page, 'project-users-and-usage');

    await page.goto(`${t.url}/projects`);
    assert.deepEqual(await rows(page.locator('main table').nth(1)), [['goofiw.gmail.com', 'Kandi users', key, '5']]);
    await snap(page, 'projects-list');
  });

  test('revoking the project\'s tokens in the browser stops the token', async () => {
    await page.locator('main table').nth(1).getByRole('link', { name: 'goofiw.gmail.com' }).click();
    await page.waitForURL('**/projects/*');
    assert.equal(await submit(page, page.getByRole('button', { name: 'Revoke access tokens' })), 200);
    assert.equal(await text(page.locator('#flash')), '1 access token revoked.');
    await snap(page, 'tokens-revoked');
    const res = await api(`/v1.2/domains/users?key=${token}`);
    assert.equal(res.status, 401);
    assert.deepEqual(res.body, { result: null, status: 5, message: 'key: this access token has been revoked' });
  });

  test('the account secret is generated on the page and opens the account API', async () => {
    await page.goto(`${t.url}/projects`);
    assert.equal(await submit(page, page.getByRole('button', { name: 'Generate account secret' })), 200);
    const accountSecret = await text(page.locator('#account-secret'));
    assert.match(accountSecret, /^AAS[0-9a-f]{32}$/);
    await snap(page, 'account-secret');
    const accountKey = await text(page.locator('#account-key'));
    const res = await api(`/v1.2/accounts/accesstokens?key=${accountKey}&account_api_secret=${accountSecret}`);
    assert.equal(res.body.status, 0);
    assert.deepEqual(pageErrors, []);
  });
});
