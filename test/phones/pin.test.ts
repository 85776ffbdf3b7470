// Every failure path of the PIN flow, through the portal: status and the exact message shown.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { PortalClient } from '../helpers/portal.js';

const errorText = (body: string) => /<div class="error" role="alert">([^<]*)<\/div>/.exec(body)?.[1];

async function addPhone(p: PortalClient, phone: string): Promise<string> {
  await p.get('/phones');
  const res = await p.post('/phones', { phone });
  assert.equal(res.statusCode, 303, res.body.slice(0, 300));
  return res.headers.location as string;
}

describe('the PIN flow', () => {
  let t: TestApp;
  before(async () => { t = await createTestApp(); });
  after(async () => { await t.close(); });
  // Tests that assert an exact Retry-After stop the clock, so the answer does not depend on how
  // long the machine took to run them.
  afterEach(() => t.clock.thaw());

  let n = 0;
  async function person(): Promise<PortalClient> {
    const p = new PortalClient(t.app);
    await p.signup(`pin${++n}@example.com`);
    return p;
  }

  test('normalises numbers to E.164 and refuses what is not a phone number', async () => {
    const p = await person();
    const bad = await p.post('/phones', { phone: '12345' });
    assert.equal(bad.statusCode, 400);
    assert.equal(errorText(bad.body), 'phone: &quot;12345&quot; is not a valid phone number; use international form such as +14155550123');
    const url = await addPhone(p, '+1 (415) 555-0142');
    const page = await p.get(url);
    assert.match(page.body, /<h1>Verify \+14155550142<\/h1>/);
  });

  test('a wrong PIN says how many tries are left; the fifth cancels the PIN', async () => {
    const p = await person();
    const url = await addPhone(p, '+14155550143');
    const pin = await p.latestPin();
    const wrong = pin === '000000' ? '111111' : '000000';
    for (let left = 4; left >= 1; left--) {
      const res = await p.post(url, { pin: wrong });
      assert.equal(res.statusCode, 400);
      assert.equal(errorText(res.body), `pin: not the PIN that was sent; ${left} ${left === 1 ? 'try' : 'tries'} left`);
    }
    const fifth = await p.post(url, { pin: wrong });
    assert.equal(fifth.statusCode, 429);
    assert.equal(errorText(fifth.body), 'pin: too many wrong PINs; generate a new one');
    // Retry-After: when a new PIN may be asked for (the 30-second gap after the last one).
    const wait = Number(fifth.headers['retry-after']);
    assert.ok(Number.isInteger(wait) && wait >= 1 && wait <= 30, `retry-after ${fifth.headers['retry-after']}`);
    // Even the right PIN no longer works.
    const right = await p.post(url, { pin });
    assert.equal(right.statusCode, 400);
    assert.equal(errorText(right.body), 'pin: there is no valid PIN for this number; generate a new one');
  });

  test('a PIN expires after 10 minutes', async () => {
    const p = await person();
    const url = await addPhone(p, '+14155550144');
    const pin = await p.latestPin();
    t.clock.advance(10 * 60_000 + 1);
    const res = await p.post(url, { pin });
    assert.equal(res.statusCode, 400);
    assert.equal(errorText(res.body), 'pin: this PIN has expired; generate a new one');
  });

  test('a PIN must be six digits', async () => {
    const p = await person();
    const url = await addPhone(p, '+14155550145');
    for (const pin of ['12345', '1234567', 'abcdef', '']) {
      const res = await p.post(url, { pin });
      assert.equal(res.statusCode, 400, pin);
      assert.equal(errorText(res.body), 'pin: must be the 6 digits sent by SMS');
    }
  });

  test('re-sends are limited: 30 s apart and five an hour; a new PIN replaces the old', async () => {
    const p = await person();
    const url = await addPhone(p, '+14155550146');
    const first = await p.latestPin();
    const resendUrl = url.replace('/verify', '/resend');
    const soon = await p.post(resendUrl, {});
    assert.equal(soon.statusCode, 429);
    assert.equal(soon.headers['retry-after'], '30');
    assert.equal(errorText(soon.body), 'A PIN was sent moments ago; you can ask for another in 30 s');
    for (let i = 2; i <= 5; i++) {
      t.clock.advance(31_000);
      const ok = await p.follow(await p.post(resendUrl, {}));
      assert.equal(ok.statusCode, 200);
      assert.match(ok.body, /A new PIN is on its way; the previous one no longer works\./);
    }
    t.clock.advance(31_000);
    const sixth = await p.post(resendUrl, {});
    assert.equal(sixth.statusCode, 429);
    assert.equal(errorText(sixth.body), 'At most 5 PINs an hour are sent to one number; try again in 58 min');
    // The first PIN was replaced.
    const latest = await p.latestPin();
    if (latest !== first) {
      const old = await p.post(url, { pin: first });
      assert.equal(old.statusCode, 400);
    }
    const good = await p.post(url, { pin: latest });
    assert.equal(good.statusCode, 303);
  });

  test('removing and re-adding a number does not reset its limits, nor does a second account adding it', async () => {
    t.clock.freeze();
    const p = await person();
    const phone = '+14155550170';
    const listed = async (who: PortalClient) => (await who.get('/phones')).body.includes(`<td>${phone}</td>`);
    for (let i = 1; i <= 5; i++) {
      const url = await addPhone(p, phone);
      const id = /\/phones\/([^/]+)\/verify/.exec(url)![1]!;
      // Straight back: the 30 s gap belongs to the number, not to the deleted row.
      assert.equal((await p.post(`/phones/${id}/delete`, {})).statusCode, 303);
      const soon = await p.post('/phones', { phone });
      assert.deepEqual([soon.statusCode, soon.headers['retry-after'], errorText(soon.body)], [429, '30', 'A PIN was sent moments ago; you can ask for another in 30 s'], `round ${i}`);
      t.clock.advance(31_000);
    }
    // Five PINs went to the number in 155 s; the sixth waits for the hour that began with the first.
    const sixth = await p.post('/phones', { phone });
    assert.deepEqual([sixth.statusCode, sixth.headers['retry-after'], errorText(sixth.body)], [429, '3445', 'At most 5 PINs an hour are sent to one number; try again in 58 min']);
    assert.equal(await listed(p), false, 'no pending number is left behind');
    const other = await person();
    const theirs = await other.post('/phones', { phone });
    assert.deepEqual([theirs.statusCode, theirs.headers['retry-after'], errorText(theirs.body)], [429, '3445', 'At most 5 PINs an hour are sent to one number; try again in 58 min']);
    assert.equal(await listed(other), false);
    const sent = await t.db.kysely.selectFrom('sms_messages').select('id').where('recipient', '=', phone).execute();
    assert.equal(sent.length, 5);
    t.clock.advance(3445_000);
    assert.equal((await other.post('/phones', { phone })).statusCode, 303);
  });

  test('one account gets at most 10 PINs an hour, whatever the numbers', async () => {
    t.clock.freeze();
    const p = await person();
    for (let i = 0; i < 10; i++) await addPhone(p, `+141555501${80 + i}`);
    const eleventh = await p.post('/phones', { phone: '+14155550190' });
    assert.deepEqual([eleventh.statusCode, eleventh.headers['retry-after'], errorText(eleventh.body)], [429, '3600', 'At most 10 PINs an hour are sent for one account; try again in 60 min']);
    assert.doesNotMatch((await p.get('/phones')).body, /\+14155550190/);
    // The refused send gave the number's 30 s gap back: another person may add it at once.
    const other = await person();
    assert.equal((await other.post('/phones', { phone: '+14155550190' })).statusCode, 303);
  });

  test('a number verified by one account cannot be claimed by another', async () => {
    const p1 = await person();
    await p1.verifyPhone('+14155550147');
    const again = await p1.post('/phones', { phone: '+14155550147' });
    assert.equal(again.statusCode, 409);
    assert.equal(errorText(again.body), 'phone: this number is already verified on your account');
    const p2 = await person();
    const res = await p2.post('/phones', { phone: '+14155550147' });
    assert.equal(res.statusCode, 409);
    assert.equal(errorText(res.body), 'phone: this number is verified by another account');
  });

  test("another person's phone record does not exist for you", async () => {
    const p1 = await person();
    const url = await addPhone(p1, '+14155550148');
    const p2 = await person();
    const res = await p2.get(url);
    assert.equal(res.statusCode, 404);
    const post = await p2.post(url, { pin: '123456' });
    assert.equal(post.statusCode, 404);
  });

  test('the outbox shows a person only the messages their actions sent, and redacts used PINs', async () => {
    const p1 = await person();
    const url = await addPhone(p1, '+14155550149');
    const p2 = await person();
    const outbox2 = await p2.get('/outbox');
    assert.doesNotMatch(outbox2.body, /\+14155550149/);
    const pin = await p1.latestPin();
    await p1.get(url);
    assert.equal((await p1.post(url, { pin })).statusCode, 303);
    const outbox1 = await p1.get('/outbox');
    assert.doesNotMatch(outbox1.body, /PIN is \d{6}/);
    assert.match(outbox1.body, /It has been used or replaced, so it is no longer shown\./);
  });
});

describe('the http SMS provider', () => {
  let t: TestApp;
  let gateway: ReturnType<typeof createServer>;
  const received: { auth: string | undefined; body: { to: string; body: string } }[] = [];
  let fail = false;
  before(async () => {
    gateway = createServer((req: IncomingMessage, res) => {
      let data = '';
      req.on('data', (c) => { data += c; });
      req.on('end', () => {
        if (fail) { res.writeHead(502).end(); return; }
        received.push({ auth: req.headers.authorization, body: JSON.parse(data) });
        res.writeHead(202, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => gateway.listen(0, '127.0.0.1', r));
    const port = (gateway.address() as AddressInfo).port;
    t = await createTestApp({ SMS_PROVIDER: 'http', SMS_HTTP_URL: `http://127.0.0.1:${port}/sms`, SMS_HTTP_TOKEN: 'gw-token' });
  });
  after(async () => {
    await t.close();
    gateway.close();
  });

  test('posts the PIN to the gateway with the bearer token, and the outbox page is off', async () => {
    const p = new PortalClient(t.app);
    await p.signup('gw@example.com');
    const url = await addPhone(p, '+14155550160');
    assert.equal(received.length, 1);
    assert.equal(received[0]!.auth, 'Bearer gw-token');
    assert.equal(received[0]!.body.to, '+14155550160');
    const pin = /PIN is (\d{6})/.exec(received[0]!.body.body)![1]!;
    assert.equal((await p.get('/outbox')).statusCode, 404);
    const ok = await p.post(url, { pin });
    assert.equal(ok.statusCode, 303);
  });

  test('a failing gateway is reported, not hidden', async () => {
    fail = true;
    const p = new PortalClient(t.app);
    await p.signup('gw2@example.com');
    await p.get('/phones');
    const res = await p.post('/phones', { phone: '+14155550161' });
    assert.equal(res.statusCode, 502);
    assert.equal(errorText(res.body), 'The SMS could not be sent: SMS gateway answered 502. Try again in a moment.');
    // Nothing was written: the number is not listed, and a retry goes out at once.
    assert.doesNotMatch((await p.get('/phones')).body, /\+14155550161/);
    fail = false;
    const retry = await p.post('/phones', { phone: '+14155550161' });
    assert.equal(retry.statusCode, 303);
  });
});
