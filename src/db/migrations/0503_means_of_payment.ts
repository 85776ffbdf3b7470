// An organisation's means of payment (the means-of-payment redirect flow, issue 14): SEPA direct
// debit (the IBAN sealed under MASTER_KEY, its last four characters kept apart for showing it
// masked; a mandate reference and date made by Tessera) or invoice (billing address, VAT ID).
// No card number ever reaches Tessera (docs/zaikio.md).
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createTable('means_of_payment')
    .addColumn('org_id', 'text', (c) => c.primaryKey().references('organizations.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('holder', 'text')
    .addColumn('iban_sealed', 'text')
    .addColumn('iban_masked', 'text')
    .addColumn('bic', 'text')
    .addColumn('mandate_reference', 'text')
    .addColumn('mandate_date', 'bigint')
    .addColumn('billing_address', 'text')
    .addColumn('vat_id', 'text')
    .addColumn('updated_by', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('means_of_payment').execute();
}
