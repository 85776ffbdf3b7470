// A platform's technical name is the first segment of its white-label URLs: it must never be one
// of Tessera's own first path segments. RESERVED is checked against every route the app
// registers, so a new top-level route cannot be forgotten there; the rules of the name itself
// are checked through the portal's form.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { RESERVED } from '../../src/platforms/names.js';
import { developer } from '../oauth/helpers.js';
import { PNG } from './helpers.js';

describe('platform names', () => {
  let t: TestApp;
  before(async () => { t = await createTestApp(); });
  after(async () => { await t.close(); });

  test('every first path segment of Tessera\'s own routes is reserved', () => {
    const firsts = new Set(t.routes.map((r) => r.url.split('/')[1]!).filter((s) => s && !s.startsWith(':') && s !== '*'));
    const missing = [...firsts].filter((s) => !RESERVED.has(s));
    assert.deepEqual(missing, []);
  });

  test('the form refuses reserved, malformed and taken names, a foreign app, a bad colour, contact or logo, each by its field', async () => {
    const { dev, orgId, register } = await developer(t.app, 'names@example.com');
    const app = await register('Names app');
    const other = await developer(t.app, 'other@example.com', '+14155550999');
    const foreign = await other.register('Foreign app');
    await dev.get(`/orgs/${orgId}/platforms`);
    const submit = (fields: Record<string, string>, logo?: Buffer) => dev.upload(`/orgs/${orgId}/platforms`, {
      name: 'printco', display_name: 'Print Co', primary_color: '#123456', support_contact: '', connector_id: app.id, logo_url: '', ...fields,
    }, logo ? { field: 'logo', name: 'logo.png', type: 'image/png', bytes: logo } : undefined);
    const fieldError = (body: string, field: string) => new RegExp(`id="f-${field}-error">([^<]+)<`).exec(body)?.[1];
    const cases: [Record<string, string>, Buffer | undefined, string, string][] = [
      [{ name: 'oauth' }, undefined, 'name', '&quot;oauth&quot; is a word Tessera&#39;s own addresses use; pick another'],
      [{ name: 'Print Co' }, undefined, 'name', 'must be 3 to 40 lowercase letters, digits, - or _, starting with a letter and ending with a letter or digit'],
      [{ primary_color: 'red' }, undefined, 'primary_color', 'must be a colour as #rrggbb'],
      [{ support_contact: 'ftp://x' }, undefined, 'support_contact', 'must be an e-mail address or an https URL'],
      [{ logo_url: 'http://insecure.example/logo.png' }, undefined, 'logo_url', 'must be an https URL without credentials'],
      [{ connector_id: foreign.id }, undefined, 'connector_id', 'must be one of the organisation&#39;s connectors'],
      [{}, Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'), 'logo', 'must be a PNG, JPEG, GIF or WebP image'],
    ];
    for (const [fields, logo, field, message] of cases) {
      const res = await submit(fields, logo);
      assert.equal(res.statusCode, 400, JSON.stringify(fields));
      assert.equal(fieldError(res.body, field), message, JSON.stringify(fields));
    }
    const tooBig = await submit({}, Buffer.concat([PNG, Buffer.alloc(300 * 1024)]));
    assert.equal(tooBig.statusCode, 413);
    assert.equal((await t.db.kysely.selectFrom('platforms').selectAll().execute()).length, 0, 'nothing written by a refused form');

    assert.equal((await submit({})).statusCode, 303);
    const taken = await submit({ name: 'printco2', display_name: 'Again' });
    assert.equal(taken.statusCode, 409);
    assert.equal(fieldError(taken.body, 'connector_id'), 'this connector is already the app of the platform Print Co');
    const app2 = await register('Second app');
    const sameName = await submit({ connector_id: app2.id });
    assert.equal(fieldError(sameName.body, 'name'), 'another platform already uses this name');
  });
});
