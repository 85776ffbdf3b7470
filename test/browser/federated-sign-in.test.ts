// Federated sign-in in real Chromium, end to end, against an Entra-shaped upstream started here
// (helpers/upstream.ts: oidc-provider per tenant, the {tenantid} issuer): the portal's button,
// an OAuth client's log-in that goes on to its consent and redirect URI, a platform's sign-up
// page in its own look, linking a password account, the account page's sign-in methods, and the
// failure pages. Screenshots: test-artifacts/federated-sign-in/.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ARTIFACTS, createListeningApp, launchBrowser, redirectReceiver, screenshots, submit } from '../helpers/browser.js';
import type { TestApp } from '../helpers/app.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { developer, pkce, type OAuthClientReg } from '../oauth/helpers.js';
import { platformOwner, type PlatformSetup } from '../platforms/helpers.js';
import { PortalClient } from '../helpers/portal.js';

const SUITE = 'federated-sign-in';
const snap = screenshots(SUITE);
const CONTOSO = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const ELSEWHERE = '9a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const CLIENT = { clientId: 'b7e3c1a2-0f4d-4e8a-9c6b-5d2e1f0a3b4c', clientSecret: 'entra-browser-secret-0123456789' };

describe('federated sign-in in Chromium', () => {
  let t: TestApp & { url: string };
  let up: Upstream;
  let browser: Browser;
  let receiver: Awaited<ReturnType<typeof redirectReceiver>>;
  let client: OAuthClientReg;
  let acme: PlatformSetup;
  const redirectUris: string[] = [];
  const pageErrors: string[] = [];

  before(async () => {
    rmSync(join(ARTIFACTS, SUITE), { recursive: true, force: true });
    up = await startUpstream({ ...CLIENT, redirectUris, entra: { tenants: [CONTOSO, ELSEWHERE] } });
    up.accounts.set('ada', { tid: CONTOSO, oid: '11111111-1111-4111-8111-111111111111', name: 'Ada Lovelace', email: 'ada@contoso.example', xms_edov: true });
    up.accounts.set('grace', { tid: CONTOSO, oid: '22222222-2222-4222-8222-222222222222', name: 'Grace Hopper', email: 'grace@contoso.example', xms_edov: true });
    up.accounts.set('linus', { tid: CONTOSO, oid: '33333333-3333-4333-8333-333333333333', name: 'Linus Linked', email: 'linus@contoso.example', xms_edov: true });
    up.accounts.set('mia', { tid: CONTOSO, oid: '44444444-4444-4444-8444-444444444444', name: 'Mia Member', email: 'mia@contoso.example', xms_edov: true });
    up.accounts.set('outsider', { tid: ELSEWHERE, oid: '55555555-5555-4555-8555-555555555555', name: 'Out Sider', email: 'out@elsewhere.example' });
    receiver = await redirectReceiver();
    t = await createListeningApp({
      LOGIN_PROVIDERS: JSON.stringify([{ id: 'microsoft', type: 'entra', tenant: 'organizations', allowedTenants: [CONTOSO], authority: up.url, ...CLIENT, label: 'Microsoft' }]),
    });
    redirectUris.push(`${t.url}/login/microsoft/callback`);
    client = await (await developer(t.app, 'dev@example.com')).register('Contoso Planner', { redirectUris: [receiver.uri] });
    acme = await platformOwner(t.app, 'acme', 'acme-owner@example.com', receiver.uri);
    browser = await launchBrowser();
  });
  after(async () => {
    receiver?.close();
    await browser?.close();
    await t?.close();
    await up?.close();
  });

  const context = async (): Promise<{ ctx: BrowserContext; page: Page }> => {
    const ctx = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    const page = await ctx.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    receiver.reset();
    return { ctx, page };
  };

  /** At the upstream's page: the login name, then Sign in (or Cancel). */
  const atProvider = async (page: Page, login: string, button: 'Sign in' | 'Cancel' = 'Sign in') => {
    assert.equal(new URL(page.url()).origin, up.url, `at the provider, not ${page.url()}`);
    await page.getByLabel('Login name').fill(login);
    return submit(page, page.getByRole('button', { name: button }));
  };

  test('the portal\'s log-in: the Microsoft button, the provider, and back on the dashboard with a new account', async () => {
    const { ctx, page } = await context();
    await page.goto(`${t.url}/login`);
    await snap(page, 'login-with-provider-button');
    await submit(page, page.getByRole('button', { name: 'Continue with Microsoft' }));
    assert.match(new URL(page.url()).pathname, /^\/interaction\//);
    await snap(page, 'upstream-sign-in');
    await atProvider(page, 'ada');
    assert.equal(new URL(page.url()).pathname, '/dashboard');
    assert.equal(await page.locator('.notice').innerText(), 'Welcome to Tessera, Ada Lovelace. Your account is ready; you sign in with Microsoft.');
    await snap(page, 'dashboard-after-first-sign-in');
    await page.goto(`${t.url}/account`);
    assert.match(await page.locator('#sign-in-methods').innerText(), /Microsoft\s+ada@contoso\.example/);
    assert.match(await page.locator('#sign-in-methods').innerText(), /Password: none/);
    await snap(page, 'account-sign-in-methods');
    await ctx.close();
  });

  test('an OAuth client\'s log-in: after the provider the person consents and the app gets its code', async () => {
    const { ctx, page } = await context();
    const { challenge } = pkce();
    await page.goto(`${t.url}/oauth/authorize?${new URLSearchParams({
      response_type: 'code', client_id: client.id, redirect_uri: receiver.uri, scope: 'openid email groupinfo.read', state: 'st-1', code_challenge: challenge, code_challenge_method: 'S256',
    }).toString()}`);
    assert.equal(new URL(page.url()).pathname, '/login');
    await submit(page, page.getByRole('button', { name: 'Continue with Microsoft' }));
    await atProvider(page, 'grace');
    assert.equal(new URL(page.url()).pathname, '/oauth/authorize');
    assert.match(await page.locator('h1').innerText(), /Contoso Planner/);
    await snap(page, 'consent-after-provider');
    await submit(page, page.getByRole('button', { name: 'Allow' }));
    const back = receiver.landed();
    assert.ok(back, 'landed at the client');
    assert.equal(back.searchParams.get('state'), 'st-1');
    assert.match(back.searchParams.get('code') ?? '', /^\S{20,}$/);
    await ctx.close();
  });

  test('a platform\'s sign-up page offers the provider in its own look; the new person becomes a member', async () => {
    const { ctx, page } = await context();
    const { challenge } = pkce();
    await page.goto(`${t.url}/acme/oauth/authorize?${new URLSearchParams({
      response_type: 'code', client_id: acme.app.id, redirect_uri: receiver.uri, scope: 'directory.platform_membership.rw directory.person.r', state: 'wl', prompt: 'signup', code_challenge: challenge, code_challenge_method: 'S256',
    }).toString()}`);
    assert.equal(new URL(page.url()).pathname, '/acme/signup');
    assert.equal(await page.locator('.brandbig').innerText(), 'Acme Print');
    await snap(page, 'white-label-signup-with-provider');
    await submit(page, page.getByRole('button', { name: 'Sign up with Microsoft' }));
    await atProvider(page, 'mia');
    assert.equal(new URL(page.url()).pathname, '/acme/oauth/authorize', 'back on the platform\'s pages');
    assert.equal(await page.locator('.brandbig').innerText(), 'Acme Print');
    await snap(page, 'white-label-consent-after-provider');
    await submit(page, page.getByRole('button', { name: 'Allow' }));
    assert.equal(receiver.landed()?.searchParams.get('state'), 'wl');
    const member = await t.db.kysely.selectFrom('platform_members').innerJoin('users', 'users.id', 'platform_members.member_id').select(['users.email', 'platform_members.joined_via'])
      .where('users.email', '=', 'mia@contoso.example').executeTakeFirst();
    assert.deepEqual(member, { email: 'mia@contoso.example', joined_via: 'consent' });
    await ctx.close();
  });

  test('an account with a password is linked after its password, and the provider signs in to it from then on', async () => {
    const owner = new PortalClient(t.app);
    await owner.signup('linus@contoso.example', 'Linus Password');
    const { ctx, page } = await context();
    await page.goto(`${t.url}/login`);
    await submit(page, page.getByRole('button', { name: 'Continue with Microsoft' }));
    await atProvider(page, 'linus');
    assert.equal(new URL(page.url()).pathname, '/login');
    assert.match(await page.locator('.notice').innerText(), /An account with linus@contoso\.example already exists\. Log in to it with its password to link Microsoft/);
    assert.equal(await page.getByLabel('Email').inputValue(), 'linus@contoso.example');
    await snap(page, 'link-asks-for-password');
    await page.getByLabel('Password').fill('correct horse battery');
    await submit(page, page.getByRole('button', { name: 'Log in', exact: true }));
    assert.equal(await page.locator('.notice').innerText(), 'Microsoft is linked to your account: you can sign in with it from now on.');
    await page.goto(`${t.url}/account`);
    assert.match(await page.locator('#sign-in-methods').innerText(), /Password: set/);
    await snap(page, 'account-linked');
    await ctx.close();

    const second = await context();
    await second.page.goto(`${t.url}/login`);
    await submit(second.page, second.page.getByRole('button', { name: 'Continue with Microsoft' }));
    await atProvider(second.page, 'linus');
    assert.equal(new URL(second.page.url()).pathname, '/dashboard');
    assert.match(await second.page.locator('h1').innerText(), /Welcome, Linus Password/);
    await second.ctx.close();
  });

  test('failure pages: cancelled at the provider, an unverified address of an existing account, a tenant that is not allowed', async () => {
    const { ctx, page } = await context();
    await page.goto(`${t.url}/login`);
    await submit(page, page.getByRole('button', { name: 'Continue with Microsoft' }));
    assert.equal(await atProvider(page, 'ada', 'Cancel'), 403);
    assert.equal(await page.locator('h1').innerText(), 'Sign-in failed');
    assert.match(await page.locator('[role=alert]').innerText(), /You did not allow the sign-in at Microsoft/);
    await snap(page, 'cancelled-at-provider');
    await page.getByRole('link', { name: 'Back to log in' }).click();
    await page.waitForURL(`${t.url}/login`);

    // An account has the address, and the provider does not vouch for it: refused, never linked.
    const owner = new PortalClient(t.app);
    await owner.signup('nina@contoso.example', 'Nina Password');
    up.accounts.set('nina', { tid: CONTOSO, oid: '66666666-6666-4666-8666-666666666666', name: 'Nina', preferred_username: 'nina@contoso.example' });
    await submit(page, page.getByRole('button', { name: 'Continue with Microsoft' }));
    assert.equal(await atProvider(page, 'nina'), 409);
    assert.match(await page.locator('[role=alert]').innerText(), /An account with nina@contoso\.example already exists, and Microsoft did not confirm that this address is yours/);
    await snap(page, 'unverified-email-refused');
    await page.getByRole('link', { name: 'Back to log in' }).click();
    await page.waitForURL(`${t.url}/login`);

    up.useTenant(ELSEWHERE);
    try {
      await submit(page, page.getByRole('button', { name: 'Continue with Microsoft' }));
      assert.equal(await atProvider(page, 'outsider'), 403);
      assert.match(await page.locator('[role=alert]').innerText(), /Accounts of your organisation's Microsoft directory may not sign in here/);
      await snap(page, 'tenant-not-allowed');
    } finally {
      up.useTenant(CONTOSO);
    }
    await ctx.close();
    assert.deepEqual(pageErrors, []);
  });

  test('narrow screens: the log-in page with the provider button does not scroll sideways', async () => {
    const ctx = await browser.newContext({ viewport: { width: 360, height: 740 } });
    const page = await ctx.newPage();
    for (const path of ['/login', '/signup', '/acme/login']) {
      await page.goto(`${t.url}${path}`);
      assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth), path);
    }
    await snap(page, 'narrow-platform-login');
    await ctx.close();
  });
});
