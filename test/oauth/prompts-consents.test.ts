// Log-in, sign-up and consent in the authorization flow: prompt=login|create|signup|consent,
// login_hint, remembered consent, and withdrawing it in the portal.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { PortalClient } from '../helpers/portal.js';
import { decodeJwt } from 'jose';
import { REDIRECT, authorizePath, basic, codeFor, developer, introspect, pkce, query, redeem, tokenRequest, type OAuthClientReg } from './helpers.js';

describe('log-in, sign-up and consent in the authorization flow', () => {
  let t: TestApp;
  let web: OAuthClientReg;

  before(async () => {
    t = await createTestApp();
    web = await (await developer(t.app)).register('Web');
  });
  after(async () => { await t.close(); });

  const params = (extra: Record<string, string> = {}) => ({ response_type: 'code', client_id: web.id, redirect_uri: REDIRECT, scope: 'openid groupinfo.read', state: 's', ...extra });
  const nextOf = (location: string) => new URL(location, 'http://x').searchParams.get('next')!;

  test('an anonymous person is sent to log in with the hint, and comes back to the consent page', async () => {
    const p = new PortalClient(t.app);
    await p.signup('carol@example.com', 'Carol');
    await p.post('/logout', {});
    const res = await p.get(authorizePath(params({ login_hint: 'carol@example.com' })));
    assert.equal(res.statusCode, 303);
    const loc = res.headers.location as string;
    assert.ok(loc.startsWith('/login?'));
    assert.equal(new URL(loc, 'http://x').searchParams.get('login_hint'), 'carol@example.com');
    const page = await p.get(loc);
    assert.match(page.body, /name="email" value="carol@example.com"/);
    const login = await p.post('/login', { email: 'carol@example.com', password: 'correct horse battery', next: nextOf(loc) });
    assert.equal(login.statusCode, 303);
    const consent = await p.get(login.headers.location as string);
    assert.equal(consent.statusCode, 200);
    assert.match(consent.body, /<h1>Allow Web\?<\/h1>/);
    assert.match(consent.body, /Read group information and subgroups/);
  });

  test('prompt=login makes a logged-in person log in again before anything is issued', async () => {
    const p = new PortalClient(t.app);
    await p.signup('dan@example.com', 'Dan');
    await codeFor(p, web.id);
    const res = await p.get(authorizePath(params({ prompt: 'login' })));
    const loc = res.headers.location as string;
    assert.ok(loc.startsWith('/login?'), loc);
    // Going straight back without logging in only leads to the log-in page again.
    const skipped = await p.get(nextOf(loc));
    assert.ok((skipped.headers.location as string).startsWith('/login?'));
    t.clock.advance(1000);
    const login = await p.post('/login', { email: 'dan@example.com', password: 'correct horse battery', next: nextOf(loc) });
    const back = await p.get(login.headers.location as string);
    assert.equal(back.statusCode, 303);
    assert.ok(query(back.headers.location as string).code);
  });

  test('max_age (OpenID Connect Core §3.1.2.1): a log-in older than it is made again, and the ID token tells when', async () => {
    const p = new PortalClient(t.app);
    // Frozen through the sign-up, so the session's start is this very millisecond.
    t.clock.freeze();
    const loggedInAt = t.clock.now();
    await p.signup('max@example.com', 'Max');
    t.clock.thaw();
    await codeFor(p, web.id);
    t.clock.advance(60_000);
    // A minute after logging in: max_age=120 is met, and the code carries the log-in's time.
    const { verifier, challenge } = pkce();
    const recent = await p.get(authorizePath(params({ max_age: '120', code_challenge: challenge, code_challenge_method: 'S256' })));
    const code = query(recent.headers.location as string).code!;
    const idToken = (await redeem(t.app, web, code, verifier)).json().id_token as string;
    assert.equal(decodeJwt(idToken).auth_time, Math.floor(loggedInAt / 1000));
    // max_age=30 is not: log in again; prompt=none cannot, so it answers login_required.
    const none = await p.get(authorizePath(params({ max_age: '30', prompt: 'none' })));
    assert.deepEqual(query(none.headers.location as string), {
      error: 'login_required', error_description: 'the person last logged in longer ago than max_age allows', state: 's', iss: t.config.publicUrl,
    });
    for (const maxAge of ['30', '0']) {
      const res = await p.get(authorizePath(params({ max_age: maxAge })));
      const loc = res.headers.location as string;
      assert.ok(loc.startsWith('/login?'), loc);
      // Coming straight back without logging in only leads to the log-in page again.
      assert.ok(((await p.get(nextOf(loc))).headers.location as string).startsWith('/login?'));
      t.clock.advance(1000);
      assert.equal((await p.get(loc)).statusCode, 200);
      const login = await p.post('/login', { email: 'max@example.com', password: 'correct horse battery', next: nextOf(loc) });
      const back = await p.get(login.headers.location as string);
      assert.equal(back.statusCode, 303);
      assert.ok(query(back.headers.location as string).code);
    }
  });

  test('prompt=create (and signup) show the registration form first', async () => {
    const p = new PortalClient(t.app);
    for (const prompt of ['create', 'signup']) {
      const res = await p.get(authorizePath(params({ prompt, login_hint: 'erin@example.com' })));
      const loc = res.headers.location as string;
      assert.ok(loc.startsWith('/signup?'), loc);
      assert.equal(new URL(loc, 'http://x').searchParams.get('email'), 'erin@example.com');
    }
    const loc = (await p.get(authorizePath(params({ prompt: 'create' })))).headers.location as string;
    await p.get(loc);
    const signup = await p.post('/signup', { name: 'Erin', email: 'erin@example.com', password: 'correct horse battery', next: nextOf(loc) });
    assert.equal(signup.statusCode, 303);
    const consent = await p.get(signup.headers.location as string);
    assert.match(consent.body, /<h1>Allow Web\?<\/h1>/);
  });

  test('consent is remembered per person and connector; prompt=consent asks again', async () => {
    const p = new PortalClient(t.app);
    await p.signup('fay@example.com', 'Fay');
    await codeFor(p, web.id, 'openid groupinfo.read');
    const remembered = await p.get(authorizePath(params()));
    assert.equal(remembered.statusCode, 303);
    assert.ok(query(remembered.headers.location as string).code);
    const asked = await p.get(authorizePath(params({ prompt: 'consent' })));
    assert.equal(asked.statusCode, 200);
    // A scope beyond the remembered ones is asked for as well.
    const wider = await p.get(authorizePath(params({ scope: 'openid groupinfo.read textmessage.read' })));
    assert.equal(wider.statusCode, 200);
    const other = new PortalClient(t.app);
    await other.signup('gus@example.com', 'Gus');
    assert.equal((await other.get(authorizePath(params()))).statusCode, 200);
  });

  test('withdrawing consent in the portal revokes the connector\'s tokens and asks again next time', async () => {
    const p = new PortalClient(t.app);
    await p.signup('hal@example.com', 'Hal');
    const c = await codeFor(p, web.id);
    const tokens = (await redeem(t.app, web, c.code, c.verifier)).json();
    const list = await p.get('/consents');
    assert.equal(list.statusCode, 200);
    assert.match(list.body, /<td>Web<\/td><td>Contoso<\/td>/);
    const withdraw = await p.post(`/consents/${web.id}/withdraw`, {});
    assert.equal(withdraw.statusCode, 303);
    assert.match((await p.get('/consents')).body, /You have not allowed any application/);
    assert.deepEqual(await introspect(t.app, web, tokens.access_token), { active: false });
    const refresh = await tokenRequest(t.app, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token }, { authorization: basic(web.id, web.secret) });
    assert.deepEqual(refresh.json(), { error: 'invalid_grant', error_description: 'the refresh token has been revoked' });
    assert.equal((await p.get(authorizePath(params()))).statusCode, 200);
    const forged = await p.post(`/consents/${web.id}/withdraw`, {}, { csrf: null });
    assert.equal(forged.statusCode, 403);
  });
});
