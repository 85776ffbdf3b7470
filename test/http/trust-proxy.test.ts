// X-Forwarded-For is believed only from configured proxies (TRUST_PROXY). By default a client
// rotating a forged X-Forwarded-For still counts against its real address: the OAuth client
// authentication limit (100 attempts per address in 5 minutes) stops it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../src/config.js';
import { createTestApp } from '../helpers/app.js';
import { basic, tokenRequest } from '../oauth/helpers.js';

const LIMITED = { error: 'invalid_client', error_description: 'too many client authentication attempts; try again later' };
const FAILED = { error: 'invalid_client', error_description: 'client authentication failed' };

/** 101 failed client authentications from app.inject's 127.0.0.1, each claiming another address; the last answer. */
async function spoofedAttempts(env: Record<string, string>) {
  const t = await createTestApp(env);
  try {
    let last;
    for (let i = 0; i <= 100; i++) {
      // A different unknown client each time, so only the per-address limit can trip.
      last = await tokenRequest(t.app, { grant_type: 'client_credentials' }, {
        authorization: basic(`client-${i}`, 'wrong'), 'x-forwarded-for': `203.0.113.${i % 250}`,
      });
    }
    return { status: last!.statusCode, body: last!.json(), retryAfter: last!.headers['retry-after'] };
  } finally {
    await t.close();
  }
}

describe('TRUST_PROXY', () => {
  test('is off by default and accepts true, false, and lists of addresses, CIDRs and proxy-addr ranges', () => {
    assert.equal(loadConfig({}).trustProxy, false);
    assert.equal(loadConfig({ TRUST_PROXY: 'false' }).trustProxy, false);
    assert.equal(loadConfig({ TRUST_PROXY: 'true' }).trustProxy, true);
    assert.deepEqual(loadConfig({ TRUST_PROXY: '127.0.0.1, 10.0.0.0/8,::1 , fd00::/8,loopback' }).trustProxy, ['127.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8', 'loopback']);
  });

  test('refuses anything else at start, naming the value', () => {
    const list = (entry: string) => `TRUST_PROXY must be true, false, or a comma-separated list of proxy addresses or CIDRs; "${entry}" is none of those`;
    for (const [raw, entry] of [['yes', 'yes'], ['10.0.0.0/33', '10.0.0.0/33'], ['10.0.0.1,proxy.example', 'proxy.example'], ['fd00::/129', 'fd00::/129'], ['10.0.0.1,', '']]) {
      assert.throws(() => loadConfig({ TRUST_PROXY: raw! }), (e: unknown) => e instanceof ConfigError && e.message === list(entry!), raw);
    }
    assert.throws(() => loadConfig({ TRUST_PROXY: '2' }), (e: unknown) => e instanceof ConfigError
      && e.message === 'TRUST_PROXY cannot be a hop count ("2"): a count does not say which peer is a proxy; give the proxies\' addresses or CIDRs (e.g. 10.0.0.0/8), or true');
  });

  test('by default a forged X-Forwarded-For is ignored: the 101st attempt from one address is limited', async () => {
    const res = await spoofedAttempts({});
    assert.deepEqual([res.status, res.body], [429, LIMITED]);
    // The window opened at the first attempt: 300 s by the test clock; Redis (REDIS_URL) keeps
    // windows in its own time, in which the hundred attempts took a moment.
    if (process.env.REDIS_URL) assert.match(res.retryAfter as string, /^(29\d|300)$/);
    else assert.equal(res.retryAfter, '300');
  });

  test('a proxy list that does not contain the peer changes nothing', async () => {
    const res = await spoofedAttempts({ TRUST_PROXY: '10.0.0.0/8' });
    assert.deepEqual([res.status, res.body], [429, LIMITED]);
  });

  test('when the peer is a configured proxy, X-Forwarded-For names the client', async () => {
    for (const value of ['127.0.0.1', 'loopback', 'true']) {
      const res = await spoofedAttempts({ TRUST_PROXY: value });
      assert.deepEqual([res.status, res.body], [401, FAILED], value);
    }
  });
});
