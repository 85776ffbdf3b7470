// An organisation's means of payment, set by one of its owners through the means-of-payment
// redirect flow. SEPA direct debit: the IBAN and BIC checked by ibantools, the IBAN sealed at rest
// and only ever shown masked, a mandate reference and date made here. Invoice: a billing address
// and an optional VAT ID (its format checked). Cards would go through a payment provider's hosted
// fields, never through Tessera (docs/zaikio.md).
import { randomBytes } from 'node:crypto';
import { electronicFormatIBAN, friendlyFormatIBAN, isValidBIC, isValidIBAN } from 'ibantools';
import type { Deps } from '../deps.js';
import type { Sealer } from '../keys/sealed.js';
import { can, type Actor } from '../auth/policy.js';
import { ApiError, FieldChecks, invalid, notFound, requiredText } from '../lib/errors.js';
import { isCountryCode } from '../zaikio/directory.js';

export const meansOfPaymentRow = (orgId: string): string => `means_of_payment:${orgId}`;

export interface PaymentInput {
  kind?: string; holder?: string; iban?: string; bic?: string;
  billing_name?: string; billing_street?: string; billing_postal_code?: string; billing_city?: string; billing_country?: string; vat_id?: string;
}

export type MeansOfPayment =
  | { kind: 'sepa_debit'; holder: string; iban: string; bic: string; mandate_reference: string; mandate_date: string }
  | { kind: 'invoice'; billing_address: { name: string; street: string; postal_code: string; city: string; country_code: string }; vat_id: string | null };

/** EU VAT identification numbers: two letters, then 2 to 13 letters or digits (the member states' formats vary). */
const VAT_ID = /^[A-Z]{2}[0-9A-Z]{2,13}$/;

/** Every character but the country and the last four hidden, in groups of four. */
export function maskIban(iban: string): string {
  const hidden = iban.slice(0, 2) + iban.slice(2, -4).replace(/[0-9A-Z]/g, '*') + iban.slice(-4);
  return friendlyFormatIBAN(hidden) ?? hidden;
}

export class MeansOfPaymentService {
  constructor(private readonly deps: Deps, private readonly sealer: Sealer) {}

  /** Only an owner of the organisation sets it (the seed). */
  async authorize(actor: Actor, orgId: string): Promise<{ id: string; name: string }> {
    const org = await this.deps.db.selectFrom('organizations').select(['id', 'name']).where('id', '=', orgId).executeTakeFirst();
    if (!org || !actor.orgRoles.has(orgId)) throw notFound('Organisation');
    if (!can(actor, 'org.manage_owners', { orgId })) throw new ApiError('forbidden', `Only an owner of ${org.name} may set its means of payment`);
    return org;
  }

  /** The current means of payment, masked; null when none is set. */
  async get(orgId: string): Promise<MeansOfPayment | null> {
    const row = await this.deps.db.selectFrom('means_of_payment').selectAll().where('org_id', '=', orgId).executeTakeFirst();
    if (!row) return null;
    if (row.kind === 'sepa_debit') {
      return { kind: 'sepa_debit', holder: row.holder!, iban: row.iban_masked!, bic: row.bic!, mandate_reference: row.mandate_reference!, mandate_date: new Date(row.mandate_date!).toISOString().slice(0, 10) };
    }
    return { kind: 'invoice', billing_address: JSON.parse(row.billing_address!) as Extract<MeansOfPayment, { kind: 'invoice' }>['billing_address'], vat_id: row.vat_id };
  }

  async set(actor: Actor, orgId: string, input: PaymentInput): Promise<MeansOfPayment> {
    await this.authorize(actor, orgId);
    const now = this.deps.clock.now();
    const checks = new FieldChecks();
    const base = { org_id: orgId, updated_by: actor.userId, updated_at: now };
    let row;
    if (input.kind === 'sepa_debit') {
      const holder = checks.check(() => requiredText(input.holder ?? '', 'holder', 140)) ?? '';
      const iban = electronicFormatIBAN(input.iban ?? '') ?? '';
      checks.check(() => {
        if (!isValidIBAN(iban)) throw invalid('iban', 'is not a valid IBAN (its length, country or check digits are wrong)');
      });
      const bic = (input.bic ?? '').replace(/\s+/g, '').toUpperCase();
      checks.check(() => {
        if (!isValidBIC(bic)) throw invalid('bic', 'is not a valid BIC (8 or 11 characters)');
      });
      checks.done();
      row = {
        ...base, kind: 'sepa_debit' as const, holder, iban_sealed: this.sealer.seal(iban, meansOfPaymentRow(orgId)), iban_masked: maskIban(iban), bic,
        mandate_reference: `TSR${randomBytes(8).toString('hex').toUpperCase()}`, mandate_date: now, billing_address: null, vat_id: null,
      };
    } else if (input.kind === 'invoice') {
      const name = checks.check(() => requiredText(input.billing_name ?? '', 'billing_name', 140)) ?? '';
      const street = checks.check(() => requiredText(input.billing_street ?? '', 'billing_street', 140)) ?? '';
      const postal = checks.check(() => requiredText(input.billing_postal_code ?? '', 'billing_postal_code', 20)) ?? '';
      const city = checks.check(() => requiredText(input.billing_city ?? '', 'billing_city', 100)) ?? '';
      const country = (input.billing_country ?? '').trim().toUpperCase();
      checks.check(() => {
        if (!isCountryCode(country)) throw invalid('billing_country', 'must be a country code (ISO 3166-1 alpha-2)');
      });
      const vat = (input.vat_id ?? '').replace(/[\s.-]+/g, '').toUpperCase();
      checks.check(() => {
        if (vat && !VAT_ID.test(vat)) throw invalid('vat_id', 'is not a VAT identification number (country letters, then 2 to 13 letters or digits)');
      });
      checks.done();
      row = {
        ...base, kind: 'invoice' as const, holder: null, iban_sealed: null, iban_masked: null, bic: null, mandate_reference: null, mandate_date: null,
        billing_address: JSON.stringify({ name, street, postal_code: postal, city, country_code: country }), vat_id: vat || null,
      };
    } else {
      throw invalid('kind', 'must be sepa_debit or invoice');
    }
    const { org_id: _o, ...update } = row;
    await this.deps.db.insertInto('means_of_payment').values(row).onConflict((oc) => oc.column('org_id').doUpdateSet(update)).execute();
    return (await this.get(orgId))!;
  }
}
