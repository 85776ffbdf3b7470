// TOTP two-factor authentication (RFC 6238 through otpauth): enrolment shows a QR code and the
// secret and is confirmed by a first code; ten single-use recovery codes, kept as SHA-256 and
// shown once; a code is accepted once (its time step is remembered) within ±1 step of the clock;
// wrong codes are limited per person like PINs; turning it off needs the password and a code.
import { randomBytes } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';
import { toString as qrSvg } from 'qrcode';
import type { Deps } from '../deps.js';
import { recordAudit, type ClientInfo } from '../audit/audit-log.js';
import type { Sealer } from '../keys/sealed.js';
import { ApiError, invalid } from '../lib/errors.js';
import { sha256 } from '../lib/hash.js';
import type { AccountsService } from '../accounts/accounts.service.js';

export const RECOVERY_CODES = 10;
const PERIOD_S = 30;
/** Wrong codes (TOTP or recovery) per person before they must wait, as for PINs. */
export const CODE_FAILURES = 5;
const CODE_WINDOW_MS = 15 * 60_000;
const CODE = /^\d{6}$/;
const RECOVERY = /^[a-z0-9]{5}-[a-z0-9]{5}$/;

/** The sealed secret's row name: sealing binds the value to it (a copy into another row does not open). */
export const twoFactorRow = (userId: string): string => `two_factor:${userId}`;

export interface Enrolment { secret: string; uri: string; qrSvg: string }

function totp(secret: string, label: string, issuer: string): TOTP {
  return new TOTP({ issuer, label, algorithm: 'SHA1', digits: 6, period: PERIOD_S, secret: Secret.fromBase32(secret) });
}

/** `abcde-fghij`: 50 bits from an alphabet without look-alikes. */
function recoveryCode(): string {
  const alphabet = 'abcdefghjkmnpqrstuvwxyz23456789';
  const bytes = randomBytes(10);
  const chars = [...bytes].map((b) => alphabet[b % alphabet.length]);
  return `${chars.slice(0, 5).join('')}-${chars.slice(5).join('')}`;
}

export class TwoFactor {
  constructor(private readonly deps: Deps, private readonly sealer: Sealer, private readonly accounts: AccountsService) {}

  private get issuer(): string {
    return new URL(this.deps.config.publicUrl).host;
  }

  async status(userId: string): Promise<{ enabled: boolean; recoveryLeft: number }> {
    const row = await this.deps.db.selectFrom('two_factor').select('enabled_at').where('user_id', '=', userId).executeTakeFirst();
    if (!row?.enabled_at) return { enabled: false, recoveryLeft: 0 };
    const left = await this.deps.db.selectFrom('recovery_codes').select((eb) => eb.fn.countAll<number>().as('n')).where('user_id', '=', userId).where('used_at', 'is', null).executeTakeFirstOrThrow();
    return { enabled: true, recoveryLeft: Number(left.n) };
  }

  async enabled(userId: string): Promise<boolean> {
    return (await this.status(userId)).enabled;
  }

  /** A new secret waiting for its first code (replacing any earlier one that was never confirmed). */
  async beginEnrolment(user: { id: string; email: string }): Promise<Enrolment> {
    if (await this.enabled(user.id)) throw new ApiError('conflict', 'Two-factor authentication is already on; turn it off first to enrol another authenticator');
    const secret = new Secret({ size: 20 }).base32;
    const now = this.deps.clock.now();
    const sealed = this.sealer.seal(secret, twoFactorRow(user.id));
    await this.deps.db.insertInto('two_factor').values({ user_id: user.id, secret_sealed: sealed, enabled_at: null, last_step: null, created_at: now })
      .onConflict((oc) => oc.column('user_id').doUpdateSet({ secret_sealed: sealed, enabled_at: null, last_step: null, created_at: now })).execute();
    return this.enrolment(user, secret);
  }

  /** The enrolment still waiting for its code (the page shown again after a wrong code). */
  async pendingEnrolment(user: { id: string; email: string }): Promise<Enrolment | undefined> {
    const row = await this.deps.db.selectFrom('two_factor').select(['secret_sealed', 'enabled_at']).where('user_id', '=', user.id).executeTakeFirst();
    if (!row || row.enabled_at !== null) return undefined;
    return this.enrolment(user, this.sealer.open(row.secret_sealed, twoFactorRow(user.id)));
  }

  private async enrolment(user: { email: string }, secret: string): Promise<Enrolment> {
    const uri = totp(secret, user.email, this.issuer).toString();
    return { secret, uri, qrSvg: await qrSvg(uri, { type: 'svg', margin: 1, width: 200, errorCorrectionLevel: 'M' }) };
  }

  /** The first code turns it on; answers the recovery codes, shown once. */
  async confirmEnrolment(user: { id: string; email: string }, code: string, client?: ClientInfo): Promise<string[]> {
    const row = await this.deps.db.selectFrom('two_factor').select(['secret_sealed', 'enabled_at']).where('user_id', '=', user.id).executeTakeFirst();
    if (!row || row.enabled_at !== null) throw new ApiError('conflict', 'There is no enrolment waiting for a code; start again');
    await this.limited(user.id);
    const step = this.matchTotp(this.sealer.open(row.secret_sealed, twoFactorRow(user.id)), user.email, code);
    if (step === undefined) return this.wrong(user.id);
    const codes = Array.from({ length: RECOVERY_CODES }, recoveryCode);
    const now = this.deps.clock.now();
    await this.deps.db.transaction().execute(async (trx) => {
      await trx.updateTable('two_factor').set({ enabled_at: now, last_step: step }).where('user_id', '=', user.id).execute();
      await trx.deleteFrom('recovery_codes').where('user_id', '=', user.id).execute();
      await trx.insertInto('recovery_codes').values(codes.map((c) => ({ user_id: user.id, code_hash: sha256(c), used_at: null }))).execute();
      await recordAudit(trx, { actor: { type: 'user', id: user.id }, action: 'two_factor.enabled', target: { type: 'user', id: user.id }, summary: `authenticator app, ${RECOVERY_CODES} recovery codes`, ...(client ? { client } : {}), at: now });
    });
    await this.deps.limiter.reset(this.limitKey(user.id));
    return codes;
  }

  /**
   * Checks a code at log-in (or before turning it off): a TOTP code not used before, or an
   * unused recovery code, which is spent. Wrong codes count towards the limit.
   */
  async verify(user: { id: string; email: string }, raw: string, client?: ClientInfo): Promise<'totp' | 'recovery'> {
    const code = raw.trim().toLowerCase().replace(/\s+/g, '');
    await this.limited(user.id);
    const row = await this.deps.db.selectFrom('two_factor').select(['secret_sealed', 'enabled_at', 'last_step']).where('user_id', '=', user.id).executeTakeFirst();
    if (!row?.enabled_at) throw new ApiError('conflict', 'Two-factor authentication is not on for this account');
    if (CODE.test(code)) {
      const step = this.matchTotp(this.sealer.open(row.secret_sealed, twoFactorRow(user.id)), user.email, code);
      // Compare-and-set on the step: a code seen once (here or in a concurrent request) is refused.
      if (step !== undefined && (row.last_step === null || step > row.last_step)) {
        const res = await this.deps.db.updateTable('two_factor').set({ last_step: step }).where('user_id', '=', user.id)
          .where((eb) => eb.or([eb('last_step', 'is', null), eb('last_step', '<', step)])).executeTakeFirst();
        if (Number(res.numUpdatedRows) === 1) {
          await this.deps.limiter.reset(this.limitKey(user.id));
          await this.audit(user.id, 'login.second_factor', 'authenticator code', client);
          return 'totp';
        }
      }
    } else if (RECOVERY.test(code)) {
      const res = await this.deps.db.updateTable('recovery_codes').set({ used_at: this.deps.clock.now() })
        .where('user_id', '=', user.id).where('code_hash', '=', sha256(code)).where('used_at', 'is', null).executeTakeFirst();
      if (Number(res.numUpdatedRows) === 1) {
        await this.deps.limiter.reset(this.limitKey(user.id));
        await this.audit(user.id, 'login.second_factor', 'recovery code', client);
        return 'recovery';
      }
    }
    await this.audit(user.id, 'login.second_factor_failed', 'wrong or used code', client);
    return this.wrong(user.id);
  }

  /** Turning it off needs the password and a code (a stolen session alone cannot). */
  /** The password too, for an account that has one (an account made through a provider may not). */
  async disable(user: { id: string; email: string }, password: string, code: string, client?: ClientInfo): Promise<void> {
    if (await this.accounts.hasPassword(user.id)) await this.accounts.checkOwnPassword(user.id, password);
    await this.verify(user, code);
    await this.deps.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('recovery_codes').where('user_id', '=', user.id).execute();
      await trx.deleteFrom('two_factor').where('user_id', '=', user.id).execute();
      await recordAudit(trx, { actor: { type: 'user', id: user.id }, action: 'two_factor.disabled', target: { type: 'user', id: user.id }, ...(client ? { client } : {}), at: this.deps.clock.now() });
    });
  }

  /** Only where a log-in is at hand (`client` given): checking a code to turn 2FA off is recorded with that. */
  private async audit(userId: string, action: string, summary: string, client: ClientInfo | undefined): Promise<void> {
    if (client) await recordAudit(this.deps.db, { actor: { type: 'user', id: userId }, action, target: { type: 'user', id: userId }, summary, client, at: this.deps.clock.now() });
  }

  private matchTotp(secret: string, label: string, code: string): number | undefined {
    if (!CODE.test(code)) return undefined;
    const now = this.deps.clock.now();
    const delta = totp(secret, label, this.issuer).validate({ token: code, timestamp: now, window: 1 });
    return delta === null ? undefined : Math.floor(now / 1000 / PERIOD_S) + delta;
  }

  private limitKey(userId: string): string {
    return `2fa:${userId}`;
  }

  private async limited(userId: string): Promise<void> {
    const r = await this.deps.limiter.peek([{ key: this.limitKey(userId), limit: CODE_FAILURES, windowMs: CODE_WINDOW_MS }]);
    if (!r.allowed) throw new ApiError('rate_limited', 'Too many wrong codes; wait before trying again', undefined, r.retryAfter);
  }

  private async wrong(userId: string): Promise<never> {
    const r = await this.deps.limiter.hit(this.limitKey(userId), CODE_FAILURES, CODE_WINDOW_MS);
    if (!r.allowed) throw new ApiError('rate_limited', 'Too many wrong codes; wait before trying again', undefined, r.retryAfter);
    throw invalid('code', 'is not correct (or was used already)');
  }
}
