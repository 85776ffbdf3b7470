// The e-mail change redirect flow (Zaikio seed): the current password is needed; the new
// address gets a link and the current one is told; the account keeps its address until the link
// is followed, then has the new one, verified, and the previous address is told; the flow goes
// back to the app with result=requested (or cancelled) and state.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { PortalClient } from '../helpers/portal.js';
import { query, REDIRECT } from '../oauth/helpers.js';
import { platformOwner, type PlatformSetup } from '../platforms/helpers.js';

const fieldError = (body: string, field: string) => new RegExp(`id="f-${field}-error">([^<]+)<`).exec(body)?.[1];

describe('the e-mail change redirect flow', () => {
  let t: TestApp;
  let acme: PlatformSetup;
  before(async () => {
    t = await createTestApp();
    acme = await platformOwner(t.app, 'acme');
  });
  after(async () => { await t.close(); });

  const mails = (to: string) => t.db.kysely.selectFrom('mail_messages').select(['subject', 'body']).where('recipient', '=', to).orderBy('created_at').orderBy('id').execute();

  test('a link to the new address changes it; the current address is told twice; each answer goes back to the app', async () => {
    const p = new PortalClient(t.app);
    await p.signup('old@example.com', 'Olivia');
    const other = new PortalClient(t.app);
    await other.signup('taken@example.com', 'Taken');
    const page = await p.get(`/acme/oauth/platform/email?${new URLSearchParams({ client_id: acme.app.id, redirect_uri: REDIRECT, state: 'e1' }).toString()}`);
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /action="\/acme\/oauth\/platform\/email"/);
    const form = { client_id: acme.app.id, redirect_uri: REDIRECT, state: 'e1', action: 'submit' };
    const cases: [Record<string, string>, number, string, string][] = [
      [{ current_password: 'not it at all', new_email: 'new@example.com' }, 401, 'current_password', 'is not correct'],
      [{ current_password: 'correct horse battery', new_email: 'nope' }, 400, 'new_email', 'must be an e-mail address'],
      [{ current_password: 'correct horse battery', new_email: 'Old@example.com' }, 400, 'new_email', 'is already your address'],
      [{ current_password: 'correct horse battery', new_email: 'taken@example.com' }, 409, 'new_email', 'another account uses this address'],
    ];
    for (const [fields, status, field, message] of cases) {
      const res = await p.post('/acme/oauth/platform/email', { ...form, ...fields });
      assert.deepEqual([res.statusCode, fieldError(res.body, field)], [status, message], JSON.stringify(fields));
    }
    assert.deepEqual(await mails('new@example.com'), [], 'nothing sent for a refused form');

    const asked = await p.post('/acme/oauth/platform/email', { ...form, current_password: 'correct horse battery', new_email: 'New@Example.com' });
    assert.equal(asked.statusCode, 303);
    assert.deepEqual(query(asked.headers.location as string), { result: 'requested', state: 'e1', iss: t.config.publicUrl });
    const [toNew] = await mails('new@example.com');
    assert.equal(toNew?.subject, 'Confirm your new e-mail address');
    const told = (await mails('old@example.com')).map((m) => m.subject);
    assert.ok(told.includes('A change of your e-mail address was asked for'));
    assert.match((await p.get('/account')).body, /old@example.com/, 'unchanged until the link is followed');

    const token = /\/email\/change\?token=([A-Za-z0-9_-]+)/.exec(toNew!.body)![1]!;
    assert.match((await p.get(`/email/change?token=${token}`)).body, /<button type="submit">Use new@example.com<\/button>/);
    const done = await p.post('/email/change', { token });
    assert.deepEqual([done.statusCode, done.headers.location], [303, '/account']);
    const account = await p.get('/account');
    assert.match(account.body, /new@example.com <span class="tag ok">confirmed<\/span>/);
    assert.ok((await mails('old@example.com')).map((m) => m.subject).includes('Your e-mail address was changed'));
    assert.equal((await p.post('/email/change', { token })).statusCode, 401, 'the link works once');
    await p.get('/account');
    const cancel = await p.post('/oauth/platform/email', { client_id: acme.app.id, redirect_uri: REDIRECT, action: 'cancel' });
    assert.deepEqual(query(cancel.headers.location as string), { result: 'cancelled', iss: t.config.publicUrl });
  });
});
