// Account security in real Chromium: enrolling two-factor authentication from the QR page (the
// code computed from the secret the page shows, as an authenticator app would), the log-in that
// asks for a code, a recovery code, and the password, e-mail and means-of-payment redirect flows
// in a platform's look.
// Screenshots: test-artifacts/account-security/.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { ARTIFACTS, createListeningApp, launchBrowser, redirectReceiver, screenshots, submit } from '../helpers/browser.js';
import type { TestApp } from '../helpers/app.js';
import { codeAt } from '../identity/helpers.js';
import { platformOwner, type PlatformSetup } from '../platforms/helpers.js';

const SUITE = 'account-security';
const snap = screenshots(SUITE);

describe('account security in Chromium', () => {
  let t: TestApp & { url: string };
  let browser: Browser;
  let page: Page;
  let acme: PlatformSetup;
  let receiver: Awaited<ReturnType<typeof redirectReceiver>>;
  let redirect = '';
  const landed = () => receiver.landed();
  let secret = '';
  let recovery: string[] = [];
  const pageErrors: string[] = [];

  before(async () => {
    rmSync(join(ARTIFACTS, SUITE), { recursive: true, force: true });
    receiver = await redirectReceiver();
    redirect = receiver.uri;
    t = await createListeningApp();
    acme = await platformOwner(t.app, 'acme', 'acme-owner@example.com', redirect);
    browser = await launchBrowser();
    page = await (await browser.newContext({ viewport: { width: 1100, height: 800 } })).newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });
  after(async () => {
    receiver?.close();
    await browser?.close();
    await t?.close();
  });

  const logIn = async (email: string, path = '/login') => {
    await page.goto(`${t.url}${path}`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('correct horse battery');
    await submit(page, page.getByRole('button', { name: 'Log in' }));
  };

  test('enrolment from the QR page, with the code an authenticator computes from the shown secret', async () => {
    await page.goto(`${t.url}/signup`);
    await page.getByLabel('Name').fill('Tara Secure');
    await page.getByLabel('Email').fill('tara@example.com');
    await page.getByLabel('Password').fill('correct horse battery');
    await submit(page, page.getByRole('button', { name: 'Sign up' }));
    await page.goto(`${t.url}/account`);
    await submit(page, page.getByRole('button', { name: 'Set up two-factor authentication' }));
    assert.equal(new URL(page.url()).pathname, '/account/two-factor');
    assert.equal(await page.locator('.qr svg').count(), 1);
    secret = (await page.locator('#totp-secret').innerText()).trim();
    await snap(page, 'enrol-qr');
    await page.getByRole('textbox', { name: 'Code' }).fill(codeAt(secret, Date.now()));
    await submit(page, page.getByRole('button', { name: 'Turn on' }));
    recovery = (await page.locator('#recovery-codes').innerText()).trim().split(' ');
    assert.equal(recovery.length, 10);
    await snap(page, 'recovery-codes');
    await submit(page, page.getByRole('button', { name: 'Log out' }));
  });

  test('log-in asks for a code; a recovery code works once; the authenticator\'s code logs in', async () => {
    await logIn('tara@example.com');
    assert.equal(new URL(page.url()).pathname, '/login/code');
    await snap(page, 'login-code');
    await page.getByLabel('Code from your authenticator app').fill(recovery[0]!);
    await submit(page, page.getByRole('button', { name: 'Continue' }));
    assert.equal(new URL(page.url()).pathname, '/dashboard');
    assert.match(await page.locator('#flash').innerText(), /Logged in with a recovery code: 9 left\./);
    await submit(page, page.getByRole('button', { name: 'Log out' }));
    await logIn('tara@example.com');
    await page.getByLabel('Code from your authenticator app').fill(recovery[0]!);
    assert.equal(await submit(page, page.getByRole('button', { name: 'Continue' })), 400);
    assert.equal(await page.locator('#f-code-error').innerText(), 'is not correct (or was used already)');
    // The authenticator's code of the next time step (the one of enrolment was spent by it).
    await page.getByLabel('Code from your authenticator app').fill(codeAt(secret, Date.now() + 30_000));
    await submit(page, page.getByRole('button', { name: 'Continue' }));
    assert.equal(new URL(page.url()).pathname, '/dashboard');
    await submit(page, page.getByRole('button', { name: 'Log out' }));
  });

  test('the password flow in the platform\'s look: log in there, change, back at the app', async () => {
    const ctx = await browser.newContext({ viewport: { width: 1100, height: 800 } });
    page = await ctx.newPage();
    await t.app.inject({ method: 'GET', url: '/healthz' });
    const start = `${t.url}/acme/oauth/platform/password?${new URLSearchParams({ client_id: acme.app.id, redirect_uri: redirect, state: 'p1' }).toString()}`;
    await page.goto(start);
    assert.equal(new URL(page.url()).pathname, '/acme/login');
    await page.getByLabel('Email').fill('acme-owner@example.com');
    await page.getByLabel('Password').fill('correct horse battery');
    await submit(page, page.getByRole('button', { name: 'Log in' }));
    assert.equal(new URL(page.url()).pathname, '/acme/oauth/platform/password');
    await page.getByLabel('Current password').fill('correct horse battery');
    await page.getByLabel('New password').fill('password123');
    assert.equal(await submit(page, page.getByRole('button', { name: 'Change password' })), 400);
    assert.match(await page.locator('#f-new_password-error').innerText(), /is too easy to guess/);
    await snap(page, 'password-flow-weak');
    await page.getByLabel('Current password').fill('correct horse battery');
    await page.getByLabel('New password').fill('rainy otter velvet 42');
    await submit(page, page.getByRole('button', { name: 'Change password' }));
    assert.equal(landed()?.searchParams.get('result'), 'changed');
    assert.equal(landed()?.searchParams.get('state'), 'p1');

    // The e-mail flow in the same look: the request is made, the app hears so.
    await page.goto(`${t.url}/acme/oauth/platform/email?${new URLSearchParams({ client_id: acme.app.id, redirect_uri: redirect, state: 'e1' }).toString()}`);
    await page.getByLabel('Current password').fill('rainy otter velvet 42');
    await page.getByLabel('New e-mail address').fill('acme-billing@example.com');
    await snap(page, 'email-flow');
    await submit(page, page.getByRole('button', { name: 'Send the confirmation link' }));
    assert.equal(landed()?.searchParams.get('result'), 'requested');

    // The means of payment of the organisation it owns: a bad IBAN, then SEPA direct debit.
    await page.goto(`${t.url}/acme/oauth/platform/means_of_payment?${new URLSearchParams({ client_id: acme.app.id, redirect_uri: redirect, organization_id: acme.orgId, state: 'm1' }).toString()}`);
    await page.getByLabel('Account holder').fill('Contoso GmbH');
    await page.getByLabel('IBAN').fill('DE89 3704 0044 0532 0130 01');
    await page.getByLabel('BIC').fill('COBADEFFXXX');
    assert.equal(await submit(page, page.getByRole('button', { name: 'Save means of payment' })), 400);
    assert.equal(await page.locator('#f-iban-error').innerText(), 'is not a valid IBAN (its length, country or check digits are wrong)');
    await page.getByLabel('IBAN').fill('DE89 3704 0044 0532 0130 00');
    await snap(page, 'means-of-payment');
    await submit(page, page.getByRole('button', { name: 'Save means of payment' }));
    assert.equal(landed()?.searchParams.get('result'), 'saved');
    await ctx.close();
    assert.deepEqual(pageErrors, []);
  });
});
