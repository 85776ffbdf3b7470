// TOTP two-factor authentication over HTTP, the codes computed here from the secret the page
// shows (otpauth, as an authenticator app does): enrolment confirmed by a code, recovery codes
// shown once, log-in held until a code (TOTP or recovery, each once), wrong codes limited with
// Retry-After, turning it off only with the password and a code, the white-label log-in asking
// too, and the secret sealed under MASTER_KEY.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Secret, TOTP } from 'otpauth';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { PortalClient } from '../helpers/portal.js';
import { platformOwner } from '../platforms/helpers.js';

const codeAt = (secret: string, ms: number): string => new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30 }).generate({ timestamp: ms });
const fieldError = (body: string, field: string) => new RegExp(`id="f-${field}-error">([^<]+)<`).exec(body)?.[1];

describe('two-factor authentication', () => {
  let t: TestApp;
  before(async () => {
    t = await createTestApp({ MASTER_KEY: Buffer.alloc(32, 9).toString('base64') });
    t.clock.freeze();
  });
  after(async () => { await t.close(); });

  /** Signs up and turns two-factor authentication on; answers the secret and the recovery codes. */
  async function enrolled(email: string): Promise<{ p: PortalClient; secret: string; recovery: string[] }> {
    const p = new PortalClient(t.app);
    await p.signup(email, 'Tia');
    await p.get('/account');
    const start = await p.post('/account/two-factor', {});
    assert.deepEqual([start.statusCode, start.headers.location], [303, '/account/two-factor']);
    const page = await p.follow(start);
    assert.match(page.body, /<div class="qr" role="img" aria-label="QR code of the authenticator secret"><svg/);
    const secret = /id="totp-secret">([A-Z2-7]+)</.exec(page.body)![1]!;
    const wrong = await p.post('/account/two-factor/confirm', { code: '000000' === codeAt(secret, t.clock.now()) ? '111111' : '000000' });
    assert.equal(wrong.statusCode, 400);
    assert.equal(fieldError(wrong.body, 'code'), 'is not correct (or was used already)');
    const ok = await p.post('/account/two-factor/confirm', { code: codeAt(secret, t.clock.now()) });
    assert.deepEqual([ok.statusCode, ok.headers.location], [303, '/account#two-factor']);
    const shown = await p.follow(ok);
    const recovery = /id="recovery-codes">([^<]+)</.exec(shown.body)![1]!.split(' ');
    assert.equal(recovery.length, 10);
    assert.ok(recovery.every((c) => /^[a-z0-9]{5}-[a-z0-9]{5}$/.test(c)));
    assert.match(shown.body, /<span class="tag ok">on<\/span>/);
    assert.ok(!(await p.get('/account')).body.includes(recovery[0]!), 'shown once');
    t.clock.advance(30_000);
    return { p, secret, recovery };
  }

  const logIn = async (email: string, prefix = '') => {
    const p = new PortalClient(t.app);
    await p.get(`${prefix}/login`);
    const res = await p.post(`${prefix}/login`, { email, password: 'correct horse battery', next: prefix ? `${prefix}/oauth/authorize` : '/dashboard' });
    return { p, res };
  };

  test('enrolment, then a log-in held until a right code; a code works once; the secret is sealed', async () => {
    const { secret } = await enrolled('tia@example.com');
    const stored = await t.db.kysely.selectFrom('two_factor').select('secret_sealed').executeTakeFirstOrThrow();
    assert.match(stored.secret_sealed, /^sealed:v1:/);
    assert.ok(!stored.secret_sealed.includes(secret));

    const { p, res } = await logIn('tia@example.com');
    assert.deepEqual([res.statusCode, res.headers.location], [303, '/login/code']);
    assert.equal((await p.get('/account')).statusCode, 303, 'no session before the code');
    const step = await p.get('/login/code');
    assert.match(step.body, /autocomplete="one-time-code"/);
    const code = codeAt(secret, t.clock.now());
    const done = await p.post('/login/code', { code });
    assert.deepEqual([done.statusCode, done.headers.location], [303, '/dashboard']);
    assert.equal((await p.get('/account')).statusCode, 200);

    const again = await logIn('tia@example.com');
    await again.p.get('/login/code');
    const replay = await again.p.post('/login/code', { code });
    assert.equal(replay.statusCode, 400, 'the same code is not accepted twice');
    assert.equal(fieldError(replay.body, 'code'), 'is not correct (or was used already)');
  });

  test('recovery codes work once each; wrong codes are limited with Retry-After', async () => {
    const { secret, recovery } = await enrolled('uma@example.com');
    const first = await logIn('uma@example.com');
    await first.p.get('/login/code');
    const used = await first.p.post('/login/code', { code: recovery[0]!.toUpperCase() });
    assert.equal(used.statusCode, 303);
    assert.match((await first.p.follow(used)).body, /Logged in with a recovery code: 9 left\./);

    const second = await logIn('uma@example.com');
    await second.p.get('/login/code');
    assert.equal((await second.p.post('/login/code', { code: recovery[0]! })).statusCode, 400, 'a recovery code works once');
    let last;
    for (let i = 0; i < 5; i++) last = await second.p.post('/login/code', { code: '123456' === codeAt(secret, t.clock.now()) ? '654321' : '123456' });
    assert.equal(last!.statusCode, 429);
    assert.ok(Number(last!.headers['retry-after']) > 0);
    const blocked = await second.p.post('/login/code', { code: codeAt(secret, t.clock.now()) });
    assert.equal(blocked.statusCode, 429, 'even the right code waits');
    t.clock.advance(15 * 60_000 + 1000);
    await second.p.get('/login/code');
    const later = await logIn('uma@example.com');
    await later.p.get('/login/code');
    assert.equal((await later.p.post('/login/code', { code: codeAt(secret, t.clock.now()) })).statusCode, 303);
  });

  test('turning it off needs the password and a code', async () => {
    const { p, secret } = await enrolled('vic@example.com');
    await p.get('/account');
    const noPassword = await p.post('/account/two-factor/disable', { password: 'wrong password!', code: codeAt(secret, t.clock.now()) });
    assert.equal(noPassword.statusCode, 401);
    assert.equal(fieldError(noPassword.body, 'password'), 'is not correct');
    const noCode = await p.post('/account/two-factor/disable', { password: 'correct horse battery', code: '000000' === codeAt(secret, t.clock.now()) ? '111111' : '000000' });
    assert.equal(noCode.statusCode, 400);
    const off = await p.post('/account/two-factor/disable', { password: 'correct horse battery', code: codeAt(secret, t.clock.now()) });
    assert.equal(off.statusCode, 303);
    assert.match((await p.follow(off)).body, /Two-factor authentication is off\./);
    const { res } = await logIn('vic@example.com');
    assert.deepEqual([res.statusCode, res.headers.location], [303, '/dashboard']);
  });

  test('a platform\'s log-in asks for the code on its own page', async () => {
    await platformOwner(t.app, 'acme');
    const { secret } = await enrolled('wes@example.com');
    const { p, res } = await logIn('wes@example.com', '/acme');
    assert.deepEqual([res.statusCode, res.headers.location], [303, '/acme/login/code']);
    const page = await p.get('/acme/login/code');
    assert.match(page.body, /action="\/acme\/login\/code"/);
    assert.match(page.body, /powered by Tessera/);
    const done = await p.post('/acme/login/code', { code: codeAt(secret, t.clock.now()) });
    assert.deepEqual([done.statusCode, done.headers.location], [303, '/acme/oauth/authorize']);
  });
});
