// The means-of-payment redirect flow (Zaikio seed): only an owner of the organisation; SEPA
// direct debit with IBAN and BIC checked (ibantools), the IBAN sealed at rest and shown masked, a
// mandate reference and date made here; invoice with a billing address and a VAT ID format; the
// directory API reads it masked; refusals write nothing and never redirect.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { PortalClient } from '../helpers/portal.js';
import { query, REDIRECT } from '../oauth/helpers.js';
import { bearer, platformOwner, privateToken, type PlatformSetup } from '../platforms/helpers.js';

const fieldError = (body: string, field: string) => new RegExp(`id="f-${field}-error">([^<]+)<`).exec(body)?.[1];

describe('the means-of-payment redirect flow', () => {
  let t: TestApp;
  let acme: PlatformSetup;
  let admin: PortalClient;
  before(async () => {
    t = await createTestApp({ MASTER_KEY: Buffer.alloc(32, 5).toString('base64') });
    acme = await platformOwner(t.app, 'acme');
    admin = new PortalClient(t.app);
    await admin.signup('admin@example.com', 'Ada Admin');
    await acme.owner.get(`/orgs/${acme.orgId}`);
    assert.equal((await acme.owner.post(`/orgs/${acme.orgId}/members`, { email: 'admin@example.com', role: 'admin' })).statusCode, 303);
  });
  after(async () => { await t.close(); });

  const path = (extra: Record<string, string> = {}) => `/acme/oauth/platform/means_of_payment?${new URLSearchParams({ client_id: acme.app.id, redirect_uri: REDIRECT, organization_id: acme.orgId, state: 'm1', ...extra }).toString()}`;
  const form = () => ({ client_id: acme.app.id, redirect_uri: REDIRECT, organization_id: acme.orgId, state: 'm1', action: 'submit' });
  const stored = () => t.db.kysely.selectFrom('means_of_payment').selectAll().execute();

  test('not logged in, not an owner, no organisation: a log-in or an error page, never a redirect', async () => {
    const anon = new PortalClient(t.app);
    assert.equal((await anon.get(path())).headers.location, `/acme/login?next=${encodeURIComponent(path())}`);
    const notOwner = await admin.get(path());
    assert.equal(notOwner.statusCode, 403);
    assert.match(notOwner.body, /Only an owner of Contoso may set its means of payment/);
    const posted = await admin.post('/acme/oauth/platform/means_of_payment', { ...form(), kind: 'invoice' });
    assert.equal(posted.statusCode, 403);
    const noOrg = await acme.owner.get(path({ organization_id: '' }));
    assert.equal(noOrg.statusCode, 400);
    assert.deepEqual(await stored(), []);
  });

  test('bad IBAN, BIC or VAT ID are refused field by field; nothing is written', async () => {
    const page = await acme.owner.get(path());
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /For <b>Contoso<\/b>/);
    const cases: [Record<string, string>, string, string][] = [
      [{ kind: 'sepa_debit', holder: 'Contoso GmbH', iban: 'DE89 3704 0044 0532 0130 01', bic: 'COBADEFFXXX' }, 'iban', 'is not a valid IBAN (its length, country or check digits are wrong)'],
      [{ kind: 'sepa_debit', holder: 'Contoso GmbH', iban: 'XX00 1234', bic: 'COBADEFFXXX' }, 'iban', 'is not a valid IBAN (its length, country or check digits are wrong)'],
      [{ kind: 'sepa_debit', holder: 'Contoso GmbH', iban: 'DE89 3704 0044 0532 0130 00', bic: 'NOTABIC' }, 'bic', 'is not a valid BIC (8 or 11 characters)'],
      [{ kind: 'sepa_debit', holder: ' ', iban: 'DE89 3704 0044 0532 0130 00', bic: 'COBADEFFXXX' }, 'holder', 'must not be empty'],
      [{ kind: 'invoice', billing_name: 'Contoso', billing_street: 'Main St 1', billing_postal_code: '10115', billing_city: 'Berlin', billing_country: 'DE', vat_id: '12345' }, 'vat_id', 'is not a VAT identification number (country letters, then 2 to 13 letters or digits)'],
      [{ kind: 'invoice', billing_name: 'Contoso', billing_street: 'Main St 1', billing_postal_code: '10115', billing_city: 'Berlin', billing_country: 'ZZ' }, 'billing_country', 'must be a country code (ISO 3166-1 alpha-2)'],
      [{ kind: 'card' }, 'kind', 'must be sepa_debit or invoice'],
    ];
    for (const [fields, field, message] of cases) {
      const res = await acme.owner.post('/acme/oauth/platform/means_of_payment', { ...form(), ...fields });
      assert.deepEqual([res.statusCode, fieldError(res.body, field)], [400, message], JSON.stringify(fields));
    }
    assert.deepEqual(await stored(), []);
  });

  test('SEPA direct debit: sealed, masked, with a mandate; then an invoice replaces it; the directory reads it masked', async () => {
    await acme.owner.get(path());
    const saved = await acme.owner.post('/acme/oauth/platform/means_of_payment', { ...form(), kind: 'sepa_debit', holder: 'Contoso GmbH', iban: 'de89 3704 0044 0532 0130 00', bic: 'cobadeffxxx' });
    assert.equal(saved.statusCode, 303);
    assert.deepEqual(query(saved.headers.location as string), { result: 'saved', state: 'm1', iss: t.config.publicUrl });
    const [row] = await stored();
    assert.match(row!.iban_sealed!, /^sealed:v1:/);
    assert.ok(!JSON.stringify(row).includes('370400440532013000'), 'the IBAN is nowhere in the clear');
    const pat = await privateToken(acme.owner, acme.orgId, ['directory.organization.r']);
    const org = await t.app.inject({ url: '/api/v1/organization', headers: bearer(pat) });
    const payment = org.json().means_of_payment;
    assert.deepEqual({ ...payment, mandate_reference: 'x' }, { kind: 'sepa_debit', holder: 'Contoso GmbH', iban: 'DE** **** **** **** **30 00', bic: 'COBADEFFXXX', mandate_reference: 'x', mandate_date: new Date(t.clock.now()).toISOString().slice(0, 10) });
    assert.match(payment.mandate_reference, /^TSR[0-9A-F]{16}$/);

    await acme.owner.get(path());
    const invoice = await acme.owner.post('/acme/oauth/platform/means_of_payment', { ...form(), kind: 'invoice', billing_name: 'Contoso GmbH', billing_street: 'Main St 1', billing_postal_code: '10115', billing_city: 'Berlin', billing_country: 'de', vat_id: 'DE 123.456.789' });
    assert.equal(invoice.statusCode, 303);
    const after = await t.app.inject({ url: '/api/v1/organization', headers: bearer(pat) });
    assert.deepEqual(after.json().means_of_payment, { kind: 'invoice', billing_address: { name: 'Contoso GmbH', street: 'Main St 1', postal_code: '10115', city: 'Berlin', country_code: 'DE' }, vat_id: 'DE123456789' });
    const [replaced] = await stored();
    assert.equal(replaced!.iban_sealed, null, 'the IBAN is gone with the direct debit');
    await acme.owner.get(path());
    const cancel = await acme.owner.post('/acme/oauth/platform/means_of_payment', { ...form(), action: 'cancel' });
    assert.deepEqual(query(cancel.headers.location as string), { result: 'cancelled', state: 'm1', iss: t.config.publicUrl });
  });
});
