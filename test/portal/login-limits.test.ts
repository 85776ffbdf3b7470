// Log-in limits that stop a guesser without handing them the owner's account: wrong passwords
// are limited per (account, address) and attempts per address; what an account suffers from
// everywhere only slows every attempt on it (docs/architecture.md, "Log-in limits").
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { PortalClient } from '../helpers/portal.js';
import { loginDelayMs } from '../../src/accounts/accounts.service.js';

const errorText = (body: string) => /<div class="error" role="alert">([^<]*)<\/div>/.exec(body)?.[1];
const PASSWORD = 'the owner password';

describe('log-in limits', () => {
  let t: TestApp;

  before(async () => {
    t = await createTestApp();
    t.clock.freeze();
  });
  after(async () => { await t.close(); });

  async function account(email: string): Promise<void> {
    await new PortalClient(t.app, '192.0.2.1').signup(email, 'Owner', PASSWORD);
  }
  async function login(client: PortalClient, email: string, password: string) {
    if (!client.csrf) await client.get('/login');
    return client.post('/login', { email, password });
  }

  test('ten wrong passwords stop the attacker\'s address, not the owner at another address', async () => {
    await account('victim@example.com');
    const attacker = new PortalClient(t.app, '203.0.113.7');
    for (let i = 0; i < 10; i++) {
      const res = await login(attacker, 'victim@example.com', `guess ${i}`);
      assert.deepEqual([res.statusCode, errorText(res.body)], [401, 'The email or password is not correct'], `guess ${i}`);
    }
    // The attacker's address now waits the window out, even with the right password.
    const refused = await login(attacker, 'victim@example.com', PASSWORD);
    assert.deepEqual([refused.statusCode, errorText(refused.body), refused.headers['retry-after']], [429, 'Too many log-in attempts; try again later', '900']);
    // The owner, elsewhere, is slowed (the account has ten failures) but gets in.
    const owner = new PortalClient(t.app, '198.51.100.20');
    const started = Date.now();
    const res = await login(owner, 'victim@example.com', PASSWORD);
    assert.deepEqual([res.statusCode, res.headers.location], [303, '/dashboard']);
    assert.ok(Date.now() - started >= loginDelayMs(10), 'the owner waited the account-wide delay');
    // After the window the attacker's address may try again.
    t.clock.advance(15 * 60_000);
    assert.equal((await login(attacker, 'victim@example.com', 'one more guess')).statusCode, 401);
  });

  test('one address cannot keep ten accounts locked: their owners log in from elsewhere', async () => {
    const attacker = new PortalClient(t.app, '203.0.113.8');
    const emails = Array.from({ length: 10 }, (_, i) => `owner${i}@example.com`);
    for (const email of emails) await account(email);
    for (const email of emails) {
      for (let i = 0; i < 10; i++) assert.equal((await login(attacker, email, `guess ${i}`)).statusCode, 401);
    }
    // 100 attempts from that address: its next try at any account is refused.
    const extra = await login(attacker, 'someone-else@example.com', 'guess');
    assert.equal(extra.statusCode, 429);
    for (const [i, email] of emails.entries()) {
      const owner = new PortalClient(t.app, `198.51.100.${100 + i}`);
      assert.equal((await login(owner, email, PASSWORD)).statusCode, 303, email);
    }
  });

  test('a successful log-in clears its own address\'s count, not what others did to the account', async () => {
    await account('typo@example.com');
    const owner = new PortalClient(t.app, '198.51.100.30');
    for (let i = 0; i < 9; i++) assert.equal((await login(owner, 'typo@example.com', `typo ${i}`)).statusCode, 401);
    assert.equal((await login(owner, 'typo@example.com', PASSWORD)).statusCode, 303);
    const again = new PortalClient(t.app, '198.51.100.30');
    for (let i = 0; i < 9; i++) assert.equal((await login(again, 'typo@example.com', `typo ${i}`)).statusCode, 401);
    assert.equal((await login(again, 'typo@example.com', PASSWORD)).statusCode, 303);
  });

  test('the account-wide delay grows with the failures and is capped', () => {
    assert.deepEqual([0, 9, 10, 14, 15, 20, 25, 30, 35, 1000].map(loginDelayMs), [0, 0, 250, 250, 500, 1000, 2000, 4000, 8000, 10_000]);
  });
});
