// The development e-mail outbox (no SMTP_URL): a person reads their own messages in the portal,
// nobody else's; a used link is blanked out of it; the log names the message, never its body.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, LogCapture, type TestApp } from '../helpers/app.js';
import { PortalClient } from '../helpers/portal.js';
import { USED_LINK_TEXT } from '../../src/mail/mail.js';

describe('the development e-mail outbox', () => {
  let t: TestApp;
  const log = new LogCapture();
  before(async () => { t = await createTestApp({}, {}, { logLevel: 'info', logStream: log.stream }); });
  after(async () => { await t.close(); });

  test('a person reads their messages; a used link is blanked; nobody else sees them; the log has no body', async () => {
    const eve = new PortalClient(t.app);
    await eve.signup('eve@example.com', 'Eve');
    const outbox = await eve.get('/mail-outbox');
    assert.equal(outbox.statusCode, 200);
    assert.match(outbox.body, /<a href="\/mail-outbox" class="on">E-mail outbox<\/a>/);
    const token = /\/email\/verify\?token=([A-Za-z0-9_-]+)/.exec(outbox.body)![1]!;
    assert.ok(!log.text.includes(token), 'the link is never logged');
    assert.match(log.text, /e-mail outbox: message kept/);

    const other = new PortalClient(t.app);
    await other.signup('fay@example.com', 'Fay');
    assert.ok(!(await other.get('/mail-outbox')).body.includes(token));

    await eve.get(`/email/verify?token=${token}`);
    assert.equal((await eve.post('/email/verify', { token })).statusCode, 303);
    const after = await eve.get('/mail-outbox');
    assert.ok(!after.body.includes(token), 'the used link is gone from the outbox');
    assert.ok(after.body.includes(USED_LINK_TEXT.replace(/'/g, '&#39;')));
  });

  test('with SMTP configured there is no outbox page', async () => {
    const smtp = await createTestApp({ SMTP_URL: 'smtp://127.0.0.1:1' });
    try {
      const p = new PortalClient(smtp.app);
      await p.signup('gus@example.com', 'Gus');
      const res = await p.get('/mail-outbox');
      assert.equal(res.statusCode, 404);
      assert.ok(!res.body.includes('href="/mail-outbox"'));
    } finally {
      await smtp.close();
    }
  });
});
