// The audit log page in Chromium: an owner filters the organisation's log with the form, pages
// back, finds the export links; the person's security events; both fit a 360 px screen.
// Screenshots: test-artifacts/audit-log/.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { ARTIFACTS, createListeningApp, launchBrowser, rows, screenshots, submit } from '../helpers/browser.js';
import type { TestApp } from '../helpers/app.js';
import { PortalClient } from '../helpers/portal.js';

const SUITE = 'audit-log';
const snap = screenshots(SUITE);

describe('the audit log in Chromium', () => {
  let t: TestApp & { url: string };
  let browser: Browser;
  let page: Page;
  let orgId = '';

  before(async () => {
    rmSync(join(ARTIFACTS, SUITE), { recursive: true, force: true });
    t = await createListeningApp();
    const owner = new PortalClient(t.app);
    await owner.signup('owner@example.com', 'Olivia Owner');
    await owner.verifyPhone('+14155550123');
    orgId = await owner.createOrg('Audited Ltd');
    for (const name of ['Billing sync', 'Inventory bot', 'Support desk']) await owner.createConnector(orgId, name, ['groupinfo.read']);
    const colleague = new PortalClient(t.app);
    await colleague.signup('colleague@example.com', 'Carl Colleague');
    await owner.get(`/orgs/${orgId}`);
    await owner.post(`/orgs/${orgId}/members`, { email: 'colleague@example.com', role: 'admin' });
    // Someone guesses the owner's password from elsewhere.
    const guesser = new PortalClient(t.app, '198.51.100.23');
    await guesser.get('/login');
    await guesser.post('/login', { email: 'owner@example.com', password: 'guess guess guess' });
    browser = await launchBrowser();
    page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await page.goto(`${t.url}/login`);
    await page.getByLabel('Email').fill('owner@example.com');
    await page.getByLabel('Password').fill('correct horse battery');
    await submit(page, page.getByRole('button', { name: 'Log in' }));
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  test('from the organisation page to its log, filtered with the form', async () => {
    await page.goto(`${t.url}/orgs/${orgId}`);
    await submit(page, page.getByRole('link', { name: 'Audit log' }));
    assert.equal(new URL(page.url()).pathname, `/orgs/${orgId}/audit`);
    const all = await rows(page.locator('#audit-entries'));
    assert.deepEqual(all.map((r) => r[2]), ['org.member_added', 'connector.created', 'connector.created', 'connector.created', 'org.created']);
    assert.match(all[0]![1]!, /Olivia Owner/);
    assert.equal(all[0]![4], 'colleague@example.com as admin');
    await snap(page, 'organisation-log');
    await page.getByLabel('Action (e.g. connector.created, or connector)').fill('connector');
    await submit(page, page.getByRole('button', { name: 'Filter' }));
    const filtered = await rows(page.locator('#audit-entries'));
    assert.deepEqual(filtered.map((r) => r[4]), ['Support desk (groupinfo.read)', 'Inventory bot (groupinfo.read)', 'Billing sync (groupinfo.read)']);
    assert.equal(await page.getByLabel('Action (e.g. connector.created, or connector)').inputValue(), 'connector');
    assert.equal(await page.getByRole('link', { name: 'CSV' }).getAttribute('href'), `/orgs/${orgId}/audit.csv?action=connector`);
    await snap(page, 'organisation-log-filtered');
    const csv = await page.evaluate(async (href) => (await fetch(href)).text(), `/orgs/${orgId}/audit.csv?action=connector`);
    assert.equal(csv.trimEnd().split('\r\n').length, 4);
  });

  test('the owner\'s security events show the guess from elsewhere', async () => {
    await page.goto(`${t.url}/account`);
    await submit(page, page.getByRole('link', { name: 'Security events' }));
    const events = await rows(page.locator('#audit-entries'));
    const guess = events.find((r) => r[2] === 'login.failed');
    assert.ok(guess, events.map((r) => r[2]).join());
    assert.equal(guess[1], 'someone at 198.51.100.23');
    assert.equal(guess[4], 'wrong password');
    await snap(page, 'security-events');
  });

  test('at 360 px neither page scrolls sideways', async () => {
    const narrow = await (await browser.newContext({ viewport: { width: 360, height: 740 }, storageState: await page.context().storageState() })).newPage();
    for (const path of [`/orgs/${orgId}/audit`, '/account/security']) {
      await narrow.goto(`${t.url}${path}`);
      assert.ok(await narrow.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth), path);
    }
    await snap(narrow, 'organisation-log-360');
    await narrow.close();
  });
});
