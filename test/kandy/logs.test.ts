// Kandy puts credentials in query strings (`key`, `domain_api_secret`); none of them, nor the
// generated password or user secret, may reach the request log.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LogCapture, createTestApp, type TestApp } from '../helpers/app.js';
import { createUser, domainToken, seedDomain } from './setup.js';

describe('credentials never reach the logs', () => {
  let t: TestApp;
  const log = new LogCapture();
  before(async () => {
    t = await createTestApp({}, {}, { logLevel: 'info', logStream: log.stream });
  });
  after(async () => { await t.close(); });

  test('the seed flow logs its requests without keys, secrets, tokens or passwords', async () => {
    const d = await seedDomain(t);
    const token = await domainToken(t.app, d);
    const created = (await createUser(t.app, token, { user_id: 'bob', user_country_code: '+1' })).json().result;
    await createUser(t.app, token, { user_id: 'carol', user_country_code: '+1', user_password: 'sunny2day9' });
    await t.app.inject({ url: `/v1.2/domains/accesstokens?key=${d.domainKey}&domain_api_secret=wrong` });
    assert.match(log.text, /\/v1\.2\/domains\/users\/user_id\?\[query redacted\]/, 'requests are logged');
    for (const secret of [d.domainSecret, d.accountSecret, token, created.user_password, created.user_api_secret, 'sunny2day9']) {
      assert.ok(!log.text.includes(secret), `a credential (${secret.slice(0, 3)}…) is in the logs`);
    }
  });
});
