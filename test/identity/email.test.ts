// E-mail against a real SMTP server started here (smtp-server), each message parsed as received
// (mailparser): the confirmation link sent at sign-up proves the address (the portal, userinfo
// and the ID token say so only then), a link works once; a forgotten password is reset by a link
// that works once and for 30 minutes, the answer is the same for an address without an account,
// and every session of the person ends. A mail server that is down does not undo a sign-up.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SMTPServer } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';
import { decodeJwt } from 'jose';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { PortalClient } from '../helpers/portal.js';
import { codeFor, developer, redeem, type OAuthClientReg } from '../oauth/helpers.js';

describe('e-mail: confirming addresses and resetting passwords over SMTP', () => {
  let t: TestApp;
  let smtp: SMTPServer;
  let client: OAuthClientReg;
  const inbox: ParsedMail[] = [];

  before(async () => {
    smtp = new SMTPServer({
      authOptional: true, disabledCommands: ['STARTTLS'], logger: false,
      onData(stream, _session, done) {
        simpleParser(stream).then((mail) => { inbox.push(mail); done(); }, done);
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    const port = (smtp.server.address() as { port: number }).port;
    t = await createTestApp({ SMTP_URL: `smtp://127.0.0.1:${port}`, MAIL_FROM: 'Tessera <no-reply@tessera.test>' });
    client = await (await developer(t.app, 'dev-mail@example.com')).register('Mail client');
  });
  after(async () => {
    await t.close();
    await new Promise<void>((resolve) => smtp.close(resolve));
  });

  /** The next message to `to`, once it has arrived. */
  const mailTo = async (to: string, after = 0): Promise<ParsedMail> => {
    for (let i = 0; i < 200; i++) {
      const found = inbox.slice(after).find((m) => m.to && !Array.isArray(m.to) && m.to.value[0]?.address === to);
      if (found) return found;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`no mail to ${to}`);
  };
  const linkIn = (mail: ParsedMail, path: string): string => {
    const m = new RegExp(`${t.config.publicUrl}(${path}\\?token=[^\\s]+)`).exec(mail.text ?? '');
    assert.ok(m, mail.text);
    return m[1]!;
  };
  const emailClaims = async (p: PortalClient) => {
    const { code, verifier } = await codeFor(p, client.id, 'openid email');
    const tokens = (await redeem(t.app, client, code, verifier)).json();
    const info = await t.app.inject({ url: '/oauth/userinfo', headers: { authorization: `Bearer ${tokens.access_token}` } });
    const id = decodeJwt(tokens.id_token as string);
    return { id: [id.email, id.email_verified], userinfo: [info.json().email, info.json().email_verified] };
  };

  test('the link sent at sign-up confirms the address once; until then it is unverified everywhere', async () => {
    const p = new PortalClient(t.app);
    await p.signup('ada@example.com', 'Ada');
    const mail = await mailTo('ada@example.com');
    assert.equal(mail.subject, 'Confirm your e-mail address');
    assert.equal(mail.from?.value[0]?.address, 'no-reply@tessera.test');
    assert.match((await p.get('/account')).body, /ada@example.com <span class="tag warn">unconfirmed<\/span>/);
    assert.deepEqual(await emailClaims(p), { id: ['ada@example.com', false], userinfo: ['ada@example.com', false] });

    const link = linkIn(mail, '/email/verify');
    const page = await p.get(link);
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /<button type="submit">Confirm ada@example.com<\/button>/);
    assert.deepEqual(await emailClaims(p), { id: ['ada@example.com', false], userinfo: ['ada@example.com', false] }, 'opening the link spends nothing');
    const token = new URLSearchParams(link.split('?')[1]).get('token')!;
    const confirmed = await p.post('/email/verify', { token });
    assert.deepEqual([confirmed.statusCode, confirmed.headers.location], [303, '/account']);
    assert.match((await p.follow(confirmed)).body, /ada@example.com is confirmed\./);
    assert.match((await p.get('/account')).body, /ada@example.com <span class="tag ok">confirmed<\/span>/);
    assert.deepEqual(await emailClaims(p), { id: ['ada@example.com', true], userinfo: ['ada@example.com', true] });

    const again = await p.post('/email/verify', { token });
    assert.equal(again.statusCode, 401);
    assert.match(again.body, /This link cannot be used/);
    assert.equal((await p.get(link)).statusCode, 400);
  });

  test('asking again replaces the earlier link; sends are limited', async () => {
    const p = new PortalClient(t.app);
    await p.signup('ben@example.com', 'Ben');
    const first = linkIn(await mailTo('ben@example.com'), '/email/verify');
    const count = inbox.length;
    await p.get('/account');
    assert.equal((await p.post('/account/verification', {})).statusCode, 303);
    const second = linkIn(await mailTo('ben@example.com', count), '/email/verify');
    assert.notEqual(first, second);
    assert.equal((await p.get(first)).statusCode, 400, 'the earlier link no longer works');
    assert.equal((await p.get(second)).statusCode, 200);
    let last = await p.post('/account/verification', {});
    for (let i = 0; i < 5 && last.statusCode === 303; i++) last = await p.post('/account/verification', {});
    assert.equal(last.statusCode, 429);
    assert.ok(Number(last.headers['retry-after']) > 0);
  });

  test('a forgotten password: the same answer for any address, a link that works once and for 30 minutes, every session ended', async () => {
    const owner = new PortalClient(t.app);
    await owner.signup('cy@example.com', 'Cy');
    const elsewhere = new PortalClient(t.app);
    await elsewhere.post('/login', { email: 'cy@example.com', password: 'correct horse battery', next: '/dashboard' });
    assert.equal((await elsewhere.get('/account')).statusCode, 200);

    const anon = new PortalClient(t.app);
    await anon.get('/password/forgot');
    const count = inbox.length;
    const answers = [];
    for (const email of ['cy@example.com', 'nobody@example.com']) {
      const res = await anon.post('/password/forgot', { email });
      assert.deepEqual([res.statusCode, res.headers.location], [303, '/password/forgot']);
      answers.push((await anon.follow(res)).body.replace(email, 'ADDRESS'));
    }
    assert.equal(answers[0], answers[1], 'the answer does not tell whether an account exists');
    const mail = await mailTo('cy@example.com', count);
    assert.equal(mail.subject, 'Reset your password');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(inbox.slice(count).filter((m) => m.subject === 'Reset your password').length, 1, 'nothing is sent for an address without an account');

    const link = linkIn(mail, '/password/reset');
    const token = new URLSearchParams(link.split('?')[1]).get('token')!;
    const form = await anon.get(link);
    assert.match(form.body, /For <b>cy@example.com<\/b>/);
    const weak = await anon.post('/password/reset', { token, password: 'short' });
    assert.equal(weak.statusCode, 400);
    assert.match(weak.body, /id="f-password-error">must be at least 10 characters</);
    const done = await anon.post('/password/reset', { token, password: 'a much better passphrase' });
    assert.deepEqual([done.statusCode, done.headers.location], [303, '/login']);
    assert.match((await anon.follow(done)).body, /Your password is changed and every session has ended/);

    for (const p of [owner, elsewhere]) assert.equal((await p.get('/account')).statusCode, 303, 'every session ended');
    assert.equal((await anon.post('/login', { email: 'cy@example.com', password: 'correct horse battery' })).statusCode, 401);
    assert.equal((await anon.post('/login', { email: 'cy@example.com', password: 'a much better passphrase' })).statusCode, 303);
    await anon.get('/password/forgot');
    assert.equal((await anon.post('/password/reset', { token, password: 'yet another passphrase' })).statusCode, 401, 'the link works once');

    // A link older than 30 minutes is refused.
    const before = inbox.length;
    await anon.post('/password/forgot', { email: 'cy@example.com' });
    const late = linkIn(await mailTo('cy@example.com', before), '/password/reset');
    t.clock.advance(31 * 60_000);
    assert.equal((await anon.get(late)).statusCode, 400);
    assert.equal((await anon.post('/password/reset', { token: new URLSearchParams(late.split('?')[1]).get('token')!, password: 'yet another passphrase' })).statusCode, 401);
  });

  test('with the mail server down, signing up still works and says the link could not be sent', async () => {
    const down = await createTestApp({ SMTP_URL: 'smtp://127.0.0.1:1' });
    try {
      const p = new PortalClient(down.app);
      await p.get('/signup');
      const res = await p.post('/signup', { name: 'Dee', email: 'dee@example.com', password: 'correct horse battery' });
      assert.equal(res.statusCode, 303);
      assert.match((await p.follow(res)).body, /We could not e-mail you a confirmation link; send it again from Account\./);
    } finally {
      await down.close();
    }
  });
});
