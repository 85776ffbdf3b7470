// The password-change redirect flow (Zaikio seed), at /oauth/platform/password and in a
// platform's look at /{platform}/oauth/platform/password: log in first if needed; an unregistered
// redirect URI or another organisation's app is an error page, never a redirect; cancel and
// change go back with result and state; the new password must be strong; other sessions end.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { PortalClient } from '../helpers/portal.js';
import { query, REDIRECT } from '../oauth/helpers.js';
import { platformOwner, type PlatformSetup } from '../platforms/helpers.js';

const fieldError = (body: string, field: string) => new RegExp(`id="f-${field}-error">([^<]+)<`).exec(body)?.[1];

describe('the password redirect flow', () => {
  let t: TestApp;
  let acme: PlatformSetup;
  let globex: PlatformSetup;
  before(async () => {
    t = await createTestApp();
    acme = await platformOwner(t.app, 'acme');
    globex = await platformOwner(t.app, 'globex');
  });
  after(async () => { await t.close(); });

  const url = (prefix: string, clientId: string, redirect = REDIRECT) => `${prefix}/oauth/platform/password?${new URLSearchParams({ client_id: clientId, redirect_uri: redirect, state: 'st-9' }).toString()}`;

  test('log in first; cancel and change go back with the result; a weak or wrong password is refused; other sessions end', async () => {
    const p = new PortalClient(t.app);
    await p.signup('pat@example.com', 'Pat');
    const elsewhere = new PortalClient(t.app);
    await elsewhere.get('/login');
    await elsewhere.post('/login', { email: 'pat@example.com', password: 'correct horse battery' });
    const anon = new PortalClient(t.app);
    const start = await anon.get(url('', acme.app.id));
    assert.deepEqual([start.statusCode, start.headers.location], [303, `/login?next=${encodeURIComponent(url('', acme.app.id))}`]);

    const page = await p.get(url('', acme.app.id));
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /<b>acme app<\/b> sent you here/);
    const cancel = await p.post('/oauth/platform/password', { client_id: acme.app.id, redirect_uri: REDIRECT, state: 'st-9', action: 'cancel' });
    assert.equal(cancel.statusCode, 303);
    assert.deepEqual(query(cancel.headers.location as string), { result: 'cancelled', state: 'st-9', iss: t.config.publicUrl });

    const form = { client_id: acme.app.id, redirect_uri: REDIRECT, state: 'st-9', action: 'submit' };
    const wrong = await p.post('/oauth/platform/password', { ...form, current_password: 'not my password', new_password: 'rainy otter velvet 42' });
    assert.equal(wrong.statusCode, 401);
    assert.equal(fieldError(wrong.body, 'current_password'), 'is not correct');
    const weak = await p.post('/oauth/platform/password', { ...form, current_password: 'correct horse battery', new_password: 'password123' });
    assert.equal(weak.statusCode, 400);
    assert.match(fieldError(weak.body, 'new_password') ?? '', /^is too easy to guess: this is a commonly used password/);
    const changed = await p.post('/oauth/platform/password', { ...form, current_password: 'correct horse battery', new_password: 'rainy otter velvet 42' });
    assert.equal(changed.statusCode, 303);
    assert.deepEqual(query(changed.headers.location as string), { result: 'changed', state: 'st-9', iss: t.config.publicUrl });
    assert.equal((await p.get('/account')).statusCode, 200, 'this session stays');
    assert.equal((await elsewhere.get('/account')).statusCode, 303, 'the other session ended');
    await anon.get('/login');
    assert.equal((await anon.post('/login', { email: 'pat@example.com', password: 'rainy otter velvet 42' })).statusCode, 303);
  });

  test('an unregistered redirect URI or another organisation\'s app is an error page in the platform\'s look', async () => {
    const p = new PortalClient(t.app);
    await p.signup('quinn@example.com', 'Quinn');
    const elsewhere = await p.get(url('', acme.app.id, 'https://evil.example/cb'));
    assert.equal(elsewhere.statusCode, 400);
    assert.match(elsewhere.body, /The address the application wants to send you back to is not registered for it\./);
    const foreign = await p.get(url('/acme', globex.app.id));
    assert.equal(foreign.statusCode, 400);
    assert.match(foreign.body, /This application may not use this sign-in page\./);
    assert.match(foreign.body, /powered by Tessera/);
    const own = await p.get(url('/acme', acme.app.id));
    assert.equal(own.statusCode, 200);
    assert.match(own.body, /action="\/acme\/oauth\/platform\/password"/);
    assert.match(own.body, /<div class="brandbig">[\s\S]*Acme Print<\/div>/);
    const posted = await p.post('/acme/oauth/platform/password', { client_id: globex.app.id, redirect_uri: REDIRECT, action: 'cancel' });
    assert.equal(posted.statusCode, 400, 'never a redirect for another organisation\'s app');
    const anon = new PortalClient(t.app);
    const login = await anon.get(url('/acme', acme.app.id));
    assert.equal(login.headers.location, `/acme/login?next=${encodeURIComponent(url('/acme', acme.app.id))}`);
  });
});
