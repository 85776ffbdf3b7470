// The Zaikio seed, literally, in real Chromium: a new person opens the platform's authorize URL
// with prompt=signup, signs up on the white-label page (screenshot), lands on the redirect URI
// with a code that the platform app exchanges; the owner's private access token creates an
// organisation for the member through the Platform API and lists the members; a person with an
// account logs in on the platform's page and agrees on its consent page; the member, owner of
// the new organisation, makes it a platform member. Screenshots: test-artifacts/platforms/.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ARTIFACTS, createListeningApp, launchBrowser, redirectReceiver, screenshots, submit } from '../helpers/browser.js';
import type { TestApp } from '../helpers/app.js';
import { PortalClient } from '../helpers/portal.js';
import { pkce } from '../oauth/helpers.js';
import { platformOwner, privateToken, type PlatformSetup } from '../platforms/helpers.js';

const SUITE = 'platforms';
const snap = screenshots(SUITE);

describe('white-label platform sign-up in Chromium', () => {
  let t: TestApp & { url: string };
  let browser: Browser;
  let acme: PlatformSetup;
  let patToken: string;
  let memberId = '';
  let orgId = '';
  const pageErrors: string[] = [];
  // The platform app's redirect URI: a server of its own on a loopback address.
  let app: Awaited<ReturnType<typeof redirectReceiver>>;
  let REDIRECT = '';

  before(async () => {
    rmSync(join(ARTIFACTS, SUITE), { recursive: true, force: true });
    app = await redirectReceiver();
    REDIRECT = app.uri;
    t = await createListeningApp();
    acme = await platformOwner(t.app, 'acme', 'acme-owner@example.com', REDIRECT);
    patToken = await privateToken(acme.owner, acme.orgId, ['directory.platform.rw']);
    browser = await launchBrowser();
  });
  after(async () => {
    app?.close();
    await browser?.close();
    await t?.close();
  });

  /** A browser context, and where its last visit to the app's redirect URI landed. */
  const context = async (): Promise<{ ctx: BrowserContext; page: Page; landed: () => URL | undefined }> => {
    const ctx = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    app.reset();
    const page = await ctx.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    return { ctx, page, landed: () => app.landed() };
  };

  const authorizeUrl = (scope: string, challenge: string, extra: Record<string, string> = {}) => `${t.url}/acme/oauth/authorize?${new URLSearchParams({
    client_id: acme.app.id, redirect_uri: REDIRECT, scope, state: 's1', code_challenge: challenge, code_challenge_method: 'S256', response_type: 'code', ...extra,
  }).toString()}`;

  const exchange = async (code: string, verifier: string) => {
    const res = await fetch(`${t.url}/acme/oauth/access_token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${acme.app.id}:${acme.app.secret}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier }),
    });
    assert.equal(res.status, 200);
    return await res.json() as { access_token: string; bearer: { id: string; type: string }; scope: string };
  };

  test('a new person signs up on the white-label page and the app gets a code it exchanges', async () => {
    const { ctx, page, landed } = await context();
    const { verifier, challenge } = pkce();
    await page.goto(authorizeUrl('directory.platform_membership.rw,directory.person.r', challenge, { prompt: 'signup' }));
    assert.equal(new URL(page.url()).pathname, '/acme/signup');
    assert.equal(await page.title(), 'Sign up · Acme Print · Acme Print');
    assert.equal(await page.locator('.brandbig').innerText(), 'Acme Print');
    assert.equal(await page.locator('.brandbig img').count(), 1, 'the uploaded logo');
    assert.match(await page.locator('.wl-foot').innerText(), /help@acme\.example · powered by Tessera/);
    assert.equal(await page.getByRole('button', { name: 'Create account and continue' }).evaluate((b) => getComputedStyle(b).backgroundColor), 'rgb(217, 72, 15)');
    const hrefs = await page.locator('a[href^="/"]').evaluateAll((as) => as.map((a) => a.getAttribute('href')!));
    assert.ok(hrefs.length > 0 && hrefs.every((h) => h.startsWith('/acme/')), hrefs.join(' '));
    await page.getByLabel('Name').fill('Mia Member');
    await page.getByLabel('Email').fill('mia@example.com');
    await page.getByLabel('Password').fill('correct horse battery');
    await snap(page, 'white-label-signup');
    await submit(page, page.getByRole('button', { name: 'Create account and continue' }));
    const back = landed();
    assert.ok(back, 'landed on the redirect URI');
    assert.equal(back.searchParams.get('state'), 's1');
    const tokens = await exchange(back.searchParams.get('code')!, verifier);
    assert.deepEqual(tokens.bearer.type, 'Person');
    memberId = tokens.bearer.id;
    const me = await fetch(`${t.url}/api/v1/person`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(((await me.json()) as { email: string }).email, 'mia@example.com');
    await ctx.close();
  });

  test('the owner\'s private access token creates an organisation for the member and lists the members', async () => {
    const api = (path: string, init: RequestInit = {}) => fetch(`${t.url}${path}`, { ...init, headers: { authorization: `Bearer ${patToken}`, 'content-type': 'application/json', ...init.headers } });
    const created = await api(`/api/v1/platforms/acme/persons/${memberId}/organizations`, { method: 'POST', body: JSON.stringify({ organization: { name: 'Mia Prints', country_code: 'DE' } }) });
    assert.equal(created.status, 201);
    orgId = ((await created.json()) as { id: string }).id;
    const members = await api('/api/v1/platforms/acme/members');
    assert.deepEqual(((await members.json()) as { type: string; name: string; joined_via: string }[]).map((m) => [m.type, m.name, m.joined_via]).sort(),
      [['Organization', 'Mia Prints', 'api'], ['Person', 'Mia Member', 'signup']]);
  });

  test('a person with an account logs in on the platform\'s page and becomes a member only by agreeing', async () => {
    const existing = new PortalClient(t.app);
    await existing.signup('leo@example.com', 'Leo Existing');
    const { ctx, page, landed } = await context();
    const { verifier, challenge } = pkce();
    await page.goto(authorizeUrl('directory.platform_membership.rw', challenge));
    assert.equal(new URL(page.url()).pathname, '/acme/login');
    await page.getByLabel('Email').fill('leo@example.com');
    await page.getByLabel('Password').fill('correct horse battery');
    await submit(page, page.getByRole('button', { name: 'Log in' }));
    assert.equal(new URL(page.url()).pathname, '/acme/oauth/authorize');
    assert.equal(await page.locator('h1').innerText(), 'Allow acme app?');
    assert.match(await page.locator('ul.steps').innerText(), /Become a member of the platform/);
    await snap(page, 'white-label-consent');
    await submit(page, page.getByRole('button', { name: 'Allow' }));
    const tokens = await exchange(landed()!.searchParams.get('code')!, verifier);
    const person = await fetch(`${t.url}/api/v1/platforms/acme/persons/${tokens.bearer.id}`, { headers: { authorization: `Bearer ${patToken}` } });
    assert.equal(((await person.json()) as { joined_via: string }).joined_via, 'consent');
    await ctx.close();
  });

  test('the owner of an organisation makes it a platform member; the owner\'s page lists it', async () => {
    const { ctx, page, landed } = await context();
    const { challenge } = pkce();
    await page.goto(authorizeUrl(`Org/${orgId}.directory.platform_membership.rw`, challenge));
    await page.getByLabel('Email').fill('mia@example.com');
    await page.getByLabel('Password').fill('correct horse battery');
    await submit(page, page.getByRole('button', { name: 'Log in' }));
    assert.match(await page.locator('ul.steps').innerText(), /Become a member of the platform for Mia Prints/);
    await submit(page, page.getByRole('button', { name: 'Allow' }));
    assert.ok(landed()?.searchParams.get('code'));
    await ctx.close();

    const owner = await context();
    await owner.page.goto(`${t.url}/login`);
    await owner.page.getByLabel('Email').fill('acme-owner@example.com');
    await owner.page.getByLabel('Password').fill('correct horse battery');
    await submit(owner.page, owner.page.getByRole('button', { name: 'Log in' }));
    await owner.page.goto(`${t.url}/platforms/${acme.platformId}`);
    const table = owner.page.locator('#members + form + .table table');
    assert.deepEqual((await table.locator('tr td:first-child').allInnerTexts()).map((s) => s.split('\n')[0]).sort(), ['Leo Existing', 'Mia Member', 'Mia Prints']);
    await snap(owner.page, 'platform-members');
    await owner.ctx.close();
    assert.deepEqual(pageErrors, []);
  });
});
