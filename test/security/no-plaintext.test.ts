// After the whole flow, no table holds a plaintext secret, token, password, PIN or session, and
// no log line does either (logs captured at debug level).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { LogCapture, createTestApp, type TestApp } from '../helpers/app.js';
import { dumpAllTables } from '../helpers/db.js';
import { ALL_PERMISSIONS, PortalClient, accessToken } from '../helpers/portal.js';

let t: TestApp;
const log = new LogCapture();
before(async () => {
  t = await createTestApp({}, {}, { logLevel: 'debug', logStream: log.stream });
});
after(async () => { await t.close(); });

test('no table and no log line holds a plaintext credential after the whole flow', async () => {
  const password = 'a very private passphrase';
  const person = new PortalClient(t.app);
  await person.signup('scan@example.com', 'Scan', password);
  await person.get('/phones');
  const add = await person.post('/phones', { phone: '+14155550123' });
  const pin = await person.latestPin();
  await person.get(add.headers.location as string);
  assert.equal((await person.post(add.headers.location as string, { pin })).statusCode, 303);
  // Log in again so a login request with the password goes through the logs too.
  const again = new PortalClient(t.app);
  await again.get('/login');
  assert.equal((await again.post('/login', { email: 'scan@example.com', password })).statusCode, 303);
  const session = again.cookie('tessera_session');
  assert.ok(session && session.startsWith('tss_'));
  const orgId = await person.createOrg('Scan Org');
  const groupId = await person.createGroup(orgId, 'Scan Group');
  const connector = await person.createConnector(orgId, 'Scanner', ALL_PERMISSIONS);
  const refreshToken = await person.grant(groupId, connector.id);
  const res = await accessToken(t.app, connector, refreshToken);
  assert.equal(res.statusCode, 200);
  const at = res.json().accessToken as string;
  const posted = await t.app.inject({ method: 'POST', url: `/v1/groups/${groupId}/messages`, headers: { accessToken: at }, payload: { message: 'scan' } });
  assert.equal(posted.statusCode, 201);
  // Rotate the secret too, so both secrets have passed through.
  await person.get(`/connectors/${connector.id}`);
  const rotated = /id="connector-secret">([^<]+)</.exec((await person.follow(await person.post(`/connectors/${connector.id}/rotate`, {}))).body)![1]!;

  const { tables, dump } = await dumpAllTables(t.db);
  assert.ok(tables.includes('connectors') && tables.includes('grants') && tables.includes('sms_messages'));
  const secrets: Record<string, string> = {
    password, pin, 'connector secret': connector.secret, 'rotated secret': rotated, 'refresh token': refreshToken, 'access token': at,
    'access token signature': at.split('.')[2]!, session,
  };
  // The development SMS outbox prints each message it "delivers" (the issue asks for that, so a
  // developer can finish the PIN flow from the terminal); no other log line may hold the PIN.
  const otherLogs = log.text.split('\n').filter((line) => !line.includes('SMS outbox: message delivered')).join('\n');
  assert.ok(log.text.includes(`PIN is ${pin}`), 'the outbox printed the SMS');
  // Six digits also turn up by chance inside the dump's timestamps and hashes (this test failed so
  // once in CI); a stored or logged PIN stands alone, not between other digits.
  const holds = (text: string, what: string, value: string): boolean =>
    what === 'pin' ? new RegExp(`(?<![0-9])${value}(?![0-9])`).test(text) : text.includes(value);
  for (const [what, value] of Object.entries(secrets)) {
    assert.ok(!holds(dump, what, value), `${what} found in the database`);
    assert.ok(!holds(otherLogs, what, value), `${what} found in the logs`);
  }
  // The random parts alone (without prefixes) are not there either.
  for (const value of [connector.secret, rotated, refreshToken]) assert.ok(!dump.includes(value.slice(4)));
  assert.ok(log.text.includes('"url":"/v1/accessToken"'), 'requests were logged');
});
