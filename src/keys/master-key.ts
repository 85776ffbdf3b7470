// Changing MASTER_KEY (`tessera master-key rotate`) or taking it away (`tessera master-key
// remove`): every value sealed under the current key (sealed.ts) is opened with it and stored
// again under the new one, or as it is. One transaction, so a database is never left half under
// one key and half under the other: a value the current key does not open fails the whole change
// and nothing is written.
//
// Instances that are running keep the signing keys and instance secrets they have loaded, but
// could not open a signing key created under the new master key: restart them with the new
// MASTER_KEY once the change is made.
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { Sealer } from './sealed.js';
import { recordAudit } from '../audit/audit-log.js';
import { signingKeyRow } from './signing-keys.js';
import { settingRow } from './instance-secret.js';
import { twoFactorRow } from '../identity/two-factor.js';
import { meansOfPaymentRow } from '../payments/means-of-payment.js';

export interface ResealCount {
  signingKeys: number;
  settings: number;
  twoFactorSecrets: number;
  ibans: number;
}

/**
 * Stores every sealed value again under `to` (a sealer without a key stores them as they are),
 * and records the change in the audit log in the same transaction.
 */
export async function resealAll(db: Kysely<Database>, from: Sealer, to: Sealer, at: number): Promise<ResealCount> {
  return db.transaction().execute(async (trx) => {
    const count: ResealCount = { signingKeys: 0, settings: 0, twoFactorSecrets: 0, ibans: 0 };
    for (const { kid, private_jwk: stored } of await trx.selectFrom('signing_keys').select(['kid', 'private_jwk']).execute()) {
      if (!Sealer.isSealed(stored)) continue;
      const row = signingKeyRow(kid);
      await trx.updateTable('signing_keys').set({ private_jwk: to.seal(from.open(stored, row), row) }).where('kid', '=', kid).execute();
      count.signingKeys++;
    }
    for (const { key, value: stored } of await trx.selectFrom('settings').select(['key', 'value']).execute()) {
      if (!Sealer.isSealed(stored)) continue;
      const row = settingRow(key);
      await trx.updateTable('settings').set({ value: to.seal(from.open(stored, row), row) }).where('key', '=', key).execute();
      count.settings++;
    }
    for (const { user_id: userId, secret_sealed: stored } of await trx.selectFrom('two_factor').select(['user_id', 'secret_sealed']).execute()) {
      if (!Sealer.isSealed(stored)) continue;
      const row = twoFactorRow(userId);
      await trx.updateTable('two_factor').set({ secret_sealed: to.seal(from.open(stored, row), row) }).where('user_id', '=', userId).execute();
      count.twoFactorSecrets++;
    }
    for (const { org_id: orgId, iban_sealed: stored } of await trx.selectFrom('means_of_payment').select(['org_id', 'iban_sealed']).execute()) {
      if (stored === null || !Sealer.isSealed(stored)) continue;
      const row = meansOfPaymentRow(orgId);
      await trx.updateTable('means_of_payment').set({ iban_sealed: to.seal(from.open(stored, row), row) }).where('org_id', '=', orgId).execute();
      count.ibans++;
    }
    await recordAudit(trx, {
      actor: { type: 'system', id: 'tessera-cli' }, action: to.enabled ? 'master_key.rotated' : 'master_key.removed', target: { type: 'master_key', id: 'MASTER_KEY' },
      summary: `${count.signingKeys} signing keys, ${count.settings} instance secrets, ${count.twoFactorSecrets} two-factor secrets, ${count.ibans} IBANs ${to.enabled ? 'sealed under the new key' : 'stored unsealed'}`, at,
    });
    return count;
  });
}
