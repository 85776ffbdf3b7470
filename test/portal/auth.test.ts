// Sign-up, log-in, log-out, CSRF and the headers of interactive pages.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { PortalClient } from '../helpers/portal.js';

const errorText = (body: string) => /<div class="error" role="alert">([^<]*)<\/div>/.exec(body)?.[1];

describe('accounts in the portal', () => {
  let t: TestApp;
  before(async () => { t = await createTestApp(); });
  after(async () => { await t.close(); });

  test('sign-up validates each field and refuses a taken email', async () => {
    const p = new PortalClient(t.app);
    await p.get('/signup');
    const cases: [Record<string, string>, number, string][] = [
      [{ name: 'A', email: 'not-an-email', password: 'long enough pw' }, 400, 'email: must be an email address'],
      [{ name: '  ', email: 'a@example.com', password: 'long enough pw' }, 400, 'name: must not be empty'],
      [{ name: 'A', email: 'a@example.com', password: 'short' }, 400, 'password: must be at least 10 characters'],
    ];
    for (const [form, status, message] of cases) {
      const res = await p.post('/signup', form);
      assert.deepEqual([res.statusCode, errorText(res.body)], [status, message]);
    }
    const missing = await p.post('/signup', { name: 'A', email: 'a@example.com' });
    assert.deepEqual([missing.statusCode, errorText(missing.body)], [400, 'password: is required']);
    await p.signup('Taken@Example.com');
    const q = new PortalClient(t.app);
    await q.get('/signup');
    const taken = await q.post('/signup', { name: 'B', email: 'taken@example.com', password: 'long enough pw' });
    assert.deepEqual([taken.statusCode, errorText(taken.body)], [409, 'email: an account with this email already exists']);
  });

  test('log-in refuses a wrong password and an unknown email with the same message, then limits attempts', async () => {
    const p = new PortalClient(t.app);
    await p.signup('login@example.com', 'L', 'the right password');
    const q = new PortalClient(t.app);
    await q.get('/login');
    const wrong = await q.post('/login', { email: 'login@example.com', password: 'the wrong password' });
    assert.deepEqual([wrong.statusCode, errorText(wrong.body)], [401, 'The email or password is not correct']);
    const unknown = await q.post('/login', { email: 'nobody@example.com', password: 'the wrong password' });
    assert.deepEqual([unknown.statusCode, errorText(unknown.body)], [401, 'The email or password is not correct']);
    for (let i = 0; i < 9; i++) await q.post('/login', { email: 'login@example.com', password: `wrong ${i}` });
    const limited = await q.post('/login', { email: 'login@example.com', password: 'the right password' });
    assert.deepEqual([limited.statusCode, errorText(limited.body)], [429, 'Too many log-in attempts; try again later']);
    assert.ok(Number(limited.headers['retry-after']) > 0);
    t.clock.advance(15 * 60_000 + 1);
    const ok = await q.post('/login', { email: 'login@example.com', password: 'the right password' });
    assert.equal(ok.statusCode, 303);
    assert.equal(ok.headers.location, '/dashboard');
  });

  test('log-in follows only same-site relative next paths', async () => {
    const p = new PortalClient(t.app);
    await p.signup('next@example.com', 'N', 'the right password');
    for (const [next, expected] of [['/groups', '/groups'], ['//evil.example/x', '/dashboard'], ['https://evil.example', '/dashboard'], ['/\\evil.example', '/dashboard']]) {
      const q = new PortalClient(t.app);
      await q.get('/login');
      const res = await q.post('/login', { email: 'next@example.com', password: 'the right password', next: next! });
      assert.equal(res.headers.location, expected, next);
    }
  });

  test('pages need a session; log-out ends it', async () => {
    const anon = await t.app.inject({ method: 'GET', url: '/connectors' });
    assert.deepEqual([anon.statusCode, anon.headers.location], [303, '/login?next=%2Fconnectors']);
    const p = new PortalClient(t.app);
    await p.signup('out@example.com');
    assert.equal((await p.get('/connectors')).statusCode, 200);
    const out = await p.post('/logout', {});
    assert.deepEqual([out.statusCode, out.headers.location], [303, '/login']);
    assert.equal((await p.get('/connectors')).statusCode, 303);
  });

  test('every form needs the CSRF token of this browser and a same-site origin', async () => {
    const p = new PortalClient(t.app);
    await p.signup('csrf@example.com');
    const none = await p.post('/orgs', { name: 'X' }, { csrf: null });
    assert.equal(none.statusCode, 403);
    assert.equal(errorText(none.body), 'The form has expired or did not come from this site; reload the page and try again');
    const other = new PortalClient(t.app);
    await other.get('/login');
    const foreign = await p.post('/orgs', { name: 'X' }, { csrf: other.csrf });
    assert.equal(foreign.statusCode, 403);
    const crossSite = await t.app.inject({
      method: 'POST', url: '/orgs', payload: `_csrf=${encodeURIComponent(p.csrf)}&name=X`,
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example', cookie: `tessera_session=${p.cookie('tessera_session')}` },
    });
    assert.equal(crossSite.statusCode, 403);
    const orgs = await p.get('/orgs');
    assert.doesNotMatch(orgs.body, /<a href="\/orgs\/[^"]+">X<\/a>/);
    // Log-in itself is protected (login CSRF).
    const anon = new PortalClient(t.app);
    const login = await anon.post('/login', { email: 'csrf@example.com', password: 'correct horse battery' }, { csrf: 'forged' });
    assert.equal(login.statusCode, 403);
  });

  test('interactive pages cannot be framed or cached, and cookies are HttpOnly and SameSite', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/login' });
    assert.equal(res.headers['x-frame-options'], 'DENY');
    assert.match(String(res.headers['content-security-policy']), /frame-ancestors 'none'/);
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.match(String(res.headers['set-cookie']), /HttpOnly; SameSite=Lax/);
  });

  test('output is escaped', async () => {
    const p = new PortalClient(t.app);
    await p.signup('xss@example.com', '<script>alert(1)</script>');
    const dash = await p.get('/dashboard');
    assert.doesNotMatch(dash.body, /<script>alert/);
    assert.match(dash.body, /Welcome, &lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  });
});
