// The seed's connector flow in real Chromium through the portal: a developer signs up, verifies a
// phone with the PIN from the SMS outbox, creates an organisation and a group, registers a
// connector; a group admin (a second browser, a second account) grants it and receives the refresh
// token; the developer's app, over the real socket, gets an access token, posts a message and
// lists the members; the group page shows what the connector did; revoking the grant in the
// browser makes the access token fail. Screenshots of every step: test-artifacts/kaizala/.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { ARTIFACTS, createListeningApp, launchBrowser, rows, screenshots, submit, text } from '../helpers/browser.js';
import type { TestApp } from '../helpers/app.js';
import { REDACTED_PIN_TEXT } from '../../src/phones/phones.service.js';

const SUITE = 'kaizala';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PERMS = ['groupinfo.read', 'groupmember.read', 'textmessage.read', 'textmessage.write'];
const MESSAGE = 'Stock check at 9:00 <b>sharp</b> — reply with your counts';
const DEV_PHONE = '+14155550123';
const ADMIN_PHONE = '+14155550199';
const GUEST_PHONE = '+14155550142';

const snap = screenshots(SUITE);

const menu = (page: Page, label: string) => page.locator('nav.side').getByRole('link', { name: label, exact: true });
async function openMenu(page: Page, label: string): Promise<void> {
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), menu(page, label).click()]);
}
const path = (page: Page) => new URL(page.url()).pathname;
/** Phone, name and role of each group member; managers see the role as a select. */
const memberRows = async (table: Locator) => Promise.all((await table.locator('tr').all()).slice(1).map(async (tr) => {
  const cells = tr.locator('td');
  const select = cells.nth(2).locator('select');
  return [await text(cells.nth(0)), await text(cells.nth(1)), (await select.count()) ? await select.inputValue() : await text(cells.nth(2))];
}));

describe('the connector flow of the Kaizala seed in Chromium', () => {
  let t: TestApp & { url: string };
  let browser: Browser;
  let devCtx: BrowserContext;
  let adminCtx: BrowserContext;
  let dev: Page;
  let admin: Page;
  const pageErrors: string[] = [];
  let groupId = '';
  let connector = { id: '', secret: '' };
  let refreshToken = '';
  let accessToken = '';

  before(async () => {
    rmSync(join(ARTIFACTS, SUITE), { recursive: true, force: true }); // only this run's screenshots
    // The browser first: if it cannot start, no listening app is left behind to keep the process alive.
    browser = await launchBrowser();
    t = await createListeningApp();
    const open = async () => {
      const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const page = await ctx.newPage();
      page.on('pageerror', (e) => pageErrors.push(String(e)));
      // The portal serves no favicon; anything else failing in the page is a finding.
      page.on('console', (m) => { if (m.type() === 'error' && !m.location().url.endsWith('/favicon.ico')) pageErrors.push(`${m.location().url}: ${m.text()}`); });
      return [ctx, page] as const;
    };
    [devCtx, dev] = await open();
    [adminCtx, admin] = await open();
  });
  after(async () => {
    await devCtx?.close();
    await adminCtx?.close();
    await browser?.close();
    await t?.close();
  });

  async function signup(page: Page, name: string, email: string, shotName: string): Promise<void> {
    await page.goto(`${t.url}/signup`);
    assert.equal(await text(page.locator('h1')), 'Create your account');
    await page.getByLabel('Name', { exact: true }).fill(name);
    await page.getByLabel('Email', { exact: true }).fill(email);
    await page.getByLabel('Password', { exact: true }).fill('correct horse battery');
    await snap(page, shotName);
    assert.equal(await submit(page, page.getByRole('button', { name: 'Sign up' })), 200);
    assert.equal(path(page), '/dashboard');
    assert.equal(await text(page.locator('main h1')), `Welcome, ${name}`);
  }

  /** "Add a phone number" → "Generate PIN" → the PIN from the SMS outbox → "Verify". */
  async function verifyPhone(page: Page, typed: string, e164: string, who: string): Promise<void> {
    await openMenu(page, 'Phone numbers');
    assert.equal(await text(page.locator('main h2')), 'Add a phone number');
    await page.getByLabel('Phone number').fill(typed);
    assert.equal(await submit(page, page.getByRole('button', { name: 'Generate PIN' })), 200);
    assert.match(path(page), /^\/phones\/[0-9a-f-]{36}\/verify$/);
    assert.equal(await text(page.locator('main h1')), `Verify ${e164}`);
    await snap(page, `${who}-pin-sent`);

    await page.locator('main').getByRole('link', { name: 'SMS outbox' }).click();
    await page.waitForURL('**/outbox');
    const [sent] = await rows(page.locator('main table'));
    assert.equal(sent?.[1], e164);
    const m = /^Your Tessera verification PIN is (\d{6})\. It expires in 10 minutes\. Do not share it\.$/.exec(sent?.[2] ?? '');
    assert.ok(m, `a PIN in the outbox: ${JSON.stringify(sent)}`);
    const pin = m[1]!;
    await snap(page, `${who}-outbox-pin`);

    await page.goBack();
    await page.getByLabel('PIN').fill(pin);
    assert.equal(await submit(page, page.getByRole('button', { name: 'Verify' })), 200);
    assert.equal(path(page), '/phones');
    assert.deepEqual((await rows(page.locator('main table'))).map((r) => r.slice(0, 2)), [[e164, 'verified']]);
    await snap(page, `${who}-phone-verified`);

    // Once used, the PIN is gone from the outbox: the message is redacted, not just hidden.
    await openMenu(page, 'SMS outbox');
    const after = await rows(page.locator('main table'));
    assert.deepEqual(after.map((r) => r.slice(1)), [[e164, REDACTED_PIN_TEXT]]);
    const html = await page.content();
    assert.ok(!html.includes(pin), 'the used PIN is not on the outbox page');
    assert.doesNotMatch(html, /PIN is \d{6}/);
    await snap(page, `${who}-outbox-redacted`);
  }

  test('the developer signs up and verifies a phone number with the PIN from the SMS outbox', async () => {
    await signup(dev, 'Dana Developer', 'dana@contoso.example', 'dev-signup');
    await snap(dev, 'dev-dashboard');
    assert.deepEqual(await dev.locator('ol.steps .tag').allInnerTexts(), ['to do', 'to do', 'to do']);
    await verifyPhone(dev, '+1 (415) 555-0123', DEV_PHONE, 'dev');
  });

  test('the developer creates an organisation and a conversation group, with the admin by phone number', async () => {
    await openMenu(dev, 'Organisations');
    assert.deepEqual(await rows(dev.locator('main table')), [['You are not in any organisation yet.']]);
    await dev.getByLabel('Name', { exact: true }).fill('Contoso');
    assert.equal(await submit(dev, dev.getByRole('button', { name: 'Create organisation' })), 200);
    assert.match(path(dev), /^\/orgs\/[0-9a-f-]{36}$/);
    assert.equal(await text(dev.locator('main h1')), 'Contoso');

    await dev.getByLabel('New group name').fill('Field team');
    await dev.getByLabel('Welcome message').fill('Daily stock checks');
    await snap(dev, 'dev-org');
    assert.equal(await submit(dev, dev.getByRole('button', { name: 'Create group' })), 200);
    const m = /^\/groups\/([0-9a-f-]{36})$/.exec(path(dev));
    assert.ok(m, dev.url());
    groupId = m[1]!;
    assert.equal(await text(dev.locator('main h1')), 'Field team');

    // The group admin is known only by phone number; nobody has verified it yet.
    for (const [phone, role] of [[ADMIN_PHONE, 'admin'], [GUEST_PHONE, 'member']] as const) {
      await dev.getByLabel('Add a member by phone number').fill(phone);
      await dev.locator('#member-role').selectOption(role);
      assert.equal(await submit(dev, dev.getByRole('button', { name: 'Add member' })), 200);
    }
    const members = dev.locator('h2:text-is("Members") + .table table');
    assert.deepEqual((await memberRows(members)).sort(), [
      [DEV_PHONE, 'Dana Developer', 'admin'], [GUEST_PHONE, 'not provisioned', 'member'], [ADMIN_PHONE, 'not provisioned', 'admin'],
    ]);
    await snap(dev, 'dev-group');
  });

  test('the developer registers a connector and notes its ID and secret', async () => {
    await openMenu(dev, 'Connectors');
    assert.deepEqual(await rows(dev.locator('main table')), [['No connectors yet.']]);
    await dev.getByRole('link', { name: 'Add Connector' }).click();
    await dev.waitForURL('**/connectors/new');
    assert.equal(await text(dev.locator('main h1')), 'Add Connector');
    assert.equal(await dev.locator('select[name=orgId] option:checked').innerText(), 'Contoso');
    await dev.getByLabel('Name', { exact: true }).fill('Inventory bot');
    await dev.getByLabel('Description', { exact: true }).fill('Posts the morning stock check and reads the counts back.');
    for (const p of PERMS) await dev.locator(`input[name=permissions][value="${p}"]`).check();
    await snap(dev, 'dev-add-connector');

    assert.equal(await submit(dev, dev.getByRole('button', { name: 'Create Connector' })), 200);
    assert.equal(await text(dev.locator('main h1')), 'Inventory bot');
    assert.match(await text(dev.getByRole('status')), /^Connector created\. Copy the secret now: it is shown only once/);
    connector = { id: await text(dev.locator('#connector-id')), secret: await text(dev.locator('#connector-secret')) };
    assert.match(connector.id, UUID);
    assert.match(connector.secret, /^tcs_[A-Za-z0-9_-]{43}$/);
    // The permission tags are exactly the ticked ones (the card has other tags too, e.g. OAuth settings).
    assert.deepEqual((await dev.locator('main .card .tag').allInnerTexts()).filter((tag) => /^[a-z]+\.[a-z]+$/.test(tag)), PERMS);
    await snap(dev, 'dev-connector-created');

    // Shown once: the connector's page later has the ID, never the secret.
    await dev.goto(`${t.url}/connectors/${connector.id}`);
    assert.equal(await text(dev.locator('#connector-id-value')), connector.id);
    assert.equal(await dev.locator('#connector-secret').count(), 0);
    assert.ok(!(await dev.content()).includes(connector.secret));
  });

  test('the group admin, with an account and a verified phone of their own, grants the connector', async () => {
    await signup(admin, 'Avery Admin', 'avery@contoso.example', 'admin-signup');
    await verifyPhone(admin, ADMIN_PHONE, ADMIN_PHONE, 'admin');

    await openMenu(admin, 'Groups');
    assert.deepEqual(await rows(admin.locator('main table')), [['Field team', 'Contoso']]);
    await snap(admin, 'admin-groups');
    await admin.getByRole('link', { name: 'Field team' }).click();
    await admin.waitForURL(`**/groups/${groupId}`);
    const grants = admin.locator('h2#connectors + .table table');
    assert.deepEqual(await rows(grants), [['No connector has access to this group.']]);
    const select = admin.getByLabel('Connector', { exact: true });
    assert.deepEqual(await select.locator('option').allInnerTexts(), ['— choose a connector of this organisation —', 'Inventory bot']);
    await select.selectOption({ label: 'Inventory bot' });
    await snap(admin, 'admin-choose-connector');

    assert.equal(await submit(admin, admin.getByRole('button', { name: 'Add Connector' })), 200);
    assert.match(await text(admin.getByRole('status')), /^Refresh token generated\. Copy it now and hand it to the connector's developer; it will not be shown again\./);
    refreshToken = await text(admin.locator('#refresh-token'));
    assert.match(refreshToken, /^trt_[A-Za-z0-9_-]{43}$/);
    const [grant] = await rows(grants);
    assert.equal(grant?.[0], `Inventory bot (Contoso)\n${connector.id}`);
    assert.deepEqual(await grants.locator('tr').nth(1).locator('.tag').allInnerTexts(), PERMS);
    await snap(admin, 'admin-refresh-token');

    // Shown once: reloading the group page does not show it again.
    await admin.goto(`${t.url}/groups/${groupId}`);
    assert.equal(await admin.locator('#refresh-token').count(), 0);
    assert.ok(!(await admin.content()).includes(refreshToken));
  });

  test('the developer\'s app gets an access token, posts a message and lists the members over HTTP', async () => {
    const res = await fetch(`${t.url}/v1/accessToken`, {
      headers: { applicationId: connector.id, applicationSecret: connector.secret, refreshToken },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const body = await res.json() as { accessToken: string; endpointUrl: string; accessTokenExpiry: number; refreshToken: string; scope: string };
    assert.deepEqual(Object.keys(body).sort(), ['accessToken', 'accessTokenExpiry', 'endpointUrl', 'refreshToken', 'scope']);
    assert.equal(body.endpointUrl, `${t.url}/`);
    assert.equal(body.scope, PERMS.join(','));
    assert.equal(body.refreshToken, '');
    assert.ok(Math.abs(body.accessTokenExpiry - (t.clock.now() + 24 * 3600 * 1000)) < 10_000);
    accessToken = body.accessToken;

    const post = await fetch(`${t.url}/v1/groups/${groupId}/messages`, {
      method: 'POST', headers: { accessToken, 'content-type': 'application/json' }, body: JSON.stringify({ message: MESSAGE }),
    });
    assert.equal(post.status, 201);
    const posted = await post.json() as { referenceId: string };
    assert.deepEqual(Object.keys(posted), ['referenceId']);
    assert.match(posted.referenceId, UUID);

    const members = await fetch(`${t.url}/v1/groups/${groupId}/members`, { headers: { authorization: `Bearer ${accessToken}` } });
    assert.equal(members.status, 200);
    const list = (await members.json() as { members: { mobileNumber: string; role: string; isProvisioned: boolean }[] }).members;
    assert.deepEqual(list.map((m) => [m.mobileNumber, m.role, m.isProvisioned]).sort(), [
      [DEV_PHONE, 'Admin', true], [GUEST_PHONE, 'Member', false], [ADMIN_PHONE, 'Admin', true],
    ]);
  });

  test('the group page shows what the connector did; revoking the grant stops its access token', async () => {
    await admin.goto(`${t.url}/groups/${groupId}`);
    const messages = admin.locator('#messages .msg');
    assert.equal(await messages.count(), 1);
    assert.equal(await text(messages.locator('b')), 'Inventory bot');
    assert.equal(await text(messages.locator('.tag')), 'connector');
    assert.equal(await text(messages.locator('.msg-text')), MESSAGE);
    assert.equal(await messages.locator('.msg-text b').count(), 0, 'the message is shown as text, not markup');
    const members = admin.locator('h2:text-is("Members") + .table table');
    assert.deepEqual((await memberRows(members)).sort(), [
      [DEV_PHONE, 'Dana Developer', 'admin'], [GUEST_PHONE, 'not provisioned', 'member'], [ADMIN_PHONE, 'Avery Admin', 'admin'],
    ]);
    await snap(admin, 'admin-group-after-api');

    const grants = admin.locator('h2#connectors + .table table');
    assert.equal(await submit(admin, grants.getByRole('button', { name: 'Revoke' })), 200);
    assert.equal(path(admin), `/groups/${groupId}`);
    assert.deepEqual(await rows(grants), [['No connector has access to this group.']]);
    await snap(admin, 'admin-grant-revoked');

    const res = await fetch(`${t.url}/v1/groups/${groupId}/members`, { headers: { accessToken } });
    assert.equal(res.status, 401);
    assert.deepEqual(await res.json(), { error: { code: 'invalid_token', message: 'accessToken: has been revoked', details: { field: 'accessToken' } } });
    const again = await fetch(`${t.url}/v1/accessToken`, { headers: { applicationId: connector.id, applicationSecret: connector.secret, refreshToken } });
    assert.equal(again.status, 401);
    assert.equal((await again.json() as { error: { code: string } }).error.code, 'invalid_token');

    assert.deepEqual(pageErrors, [], 'no script or CSP errors in the browser');
  });
});
