// Phone numbers verified by SMS PIN. A PIN is six digits, stored only as a scrypt hash, valid for
// ten minutes and five guesses; re-sends are limited. Once a PIN is used or replaced, the copy in
// the development outbox is redacted, so no PIN outlives its use anywhere in the database.
import type { Deps } from '../deps.js';
import { isUniqueViolation } from '../deps.js';
import { ApiError, notFound } from '../lib/errors.js';
import { hashPassword, verifyPassword } from '../lib/hash.js';
import { newId, newPin } from '../lib/ids.js';
import { toE164 } from '../lib/phone.js';
import type { PhoneNumbersTable } from '../db/schema.js';
import { SmsDeliveryError } from '../sms/sms.js';

export const PIN_TTL_MS = 10 * 60_000;
export const PIN_MAX_ATTEMPTS = 5;
/** Minimum gap between two PINs to one number, and the most PINs per hour. */
export const PIN_RESEND_COOLDOWN_MS = 30_000;
export const PIN_SENDS_PER_HOUR = 5;
/** The most PINs one account may have sent in an hour, whatever the numbers. */
export const PIN_SENDS_PER_USER_PER_HOUR = 10;
const HOUR = 3600_000;

export const REDACTED_PIN_TEXT = 'Your Tessera verification PIN was here. It has been used or replaced, so it is no longer shown.';

/** The shortest gap between two PINs to one number, whichever account or row asked. */
const gapKey = (e164: string): string => `sms:e164-gap:${e164}`;

/**
 * Too many wrong PINs: the PIN is spent, and the person may come back when a new one can be sent,
 * that is when the gap after the last PIN has passed (at least a second, as Retry-After counts).
 */
const tooManyWrongPins = (pinSentAt: number | null, now: number): ApiError => new ApiError(
  'pin_attempts_exceeded', 'pin: too many wrong PINs; generate a new one', { field: 'pin' },
  Math.max(1, Math.ceil(((pinSentAt ?? now) + PIN_RESEND_COOLDOWN_MS - now) / 1000)),
);

export type PhoneNumber = Pick<PhoneNumbersTable, 'id' | 'e164' | 'verified_at' | 'pin_expires_at' | 'created_at'>;

export class PhonesService {
  constructor(private readonly deps: Deps) {}

  list(userId: string): Promise<PhoneNumber[]> {
    return this.deps.db.selectFrom('phone_numbers').select(['id', 'e164', 'verified_at', 'pin_expires_at', 'created_at'])
      .where('user_id', '=', userId).orderBy('created_at').execute();
  }

  async get(userId: string, id: string): Promise<PhoneNumber> {
    const row = await this.deps.db.selectFrom('phone_numbers').select(['id', 'e164', 'verified_at', 'pin_expires_at', 'created_at'])
      .where('user_id', '=', userId).where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound('Phone number');
    return row;
  }

  /** "Add a phone number": records it as pending (or finds the pending record) and sends a PIN. */
  async add(userId: string, input: string): Promise<PhoneNumber> {
    const e164 = toE164(input, 'phone');
    const db = this.deps.db;
    const taken = await db.selectFrom('phone_numbers').select('user_id').where('e164', '=', e164).where('verified_at', 'is not', null).executeTakeFirst();
    if (taken) {
      throw taken.user_id === userId
        ? new ApiError('conflict', 'phone: this number is already verified on your account', { field: 'phone' })
        : new ApiError('phone_taken', 'phone: this number is verified by another account', { field: 'phone' });
    }
    let row = await db.selectFrom('phone_numbers').select('id').where('user_id', '=', userId).where('e164', '=', e164).executeTakeFirst();
    let created = false;
    if (!row) {
      created = true;
      row = { id: newId() };
      try {
        await db.insertInto('phone_numbers').values({ id: row.id, user_id: userId, e164, created_at: this.deps.clock.now(), pin_attempts: 0, pin_sends: 0 }).execute();
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
        created = false;
        row = await db.selectFrom('phone_numbers').select('id').where('user_id', '=', userId).where('e164', '=', e164).executeTakeFirstOrThrow();
      }
    }
    try {
      await this.sendPin(userId, row.id);
    } catch (err) {
      // No half-added number is left behind when the very first PIN could not be sent (the
      // gateway failed, or the number's or the account's sending limit is used up).
      if (created) await db.deleteFrom('phone_numbers').where('id', '=', row.id).where('verified_at', 'is', null).execute();
      throw err;
    }
    return this.get(userId, row.id);
  }

  /** "Generate PIN": a fresh PIN replaces any earlier one, subject to the re-send limits. */
  async sendPin(userId: string, id: string): Promise<void> {
    const db = this.deps.db;
    const now = this.deps.clock.now();
    const row = await db.selectFrom('phone_numbers').selectAll().where('user_id', '=', userId).where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound('Phone number');
    if (row.verified_at !== null) throw new ApiError('conflict', 'phone: this number is already verified', { field: 'phone' });
    if (row.pin_sent_at !== null && now - row.pin_sent_at < PIN_RESEND_COOLDOWN_MS) {
      const wait = Math.ceil((PIN_RESEND_COOLDOWN_MS - (now - row.pin_sent_at)) / 1000);
      throw new ApiError('rate_limited', `A PIN was sent moments ago; you can ask for another in ${wait} s`, undefined, wait);
    }
    const windowFresh = row.pin_window_start === null || now - row.pin_window_start >= HOUR;
    const sends = windowFresh ? 0 : row.pin_sends;
    if (sends >= PIN_SENDS_PER_HOUR) {
      const wait = Math.ceil((row.pin_window_start! + HOUR - now) / 1000);
      throw new ApiError('rate_limited', `At most ${PIN_SENDS_PER_HOUR} PINs an hour are sent to one number; try again in ${Math.ceil(wait / 60)} min`, undefined, wait);
    }
    await this.countSend(userId, row.e164);
    const pin = newPin(6);
    // Compare-and-set on pin_sent_at so two concurrent requests cannot both send.
    const updated = await db.updateTable('phone_numbers').set({
      pin_hash: await hashPassword(pin),
      pin_expires_at: now + PIN_TTL_MS,
      pin_attempts: 0,
      pin_sent_at: now,
      pin_sends: sends + 1,
      pin_window_start: windowFresh ? now : row.pin_window_start,
    }).where('id', '=', id).where((eb) => row.pin_sent_at === null ? eb('pin_sent_at', 'is', null) : eb('pin_sent_at', '=', row.pin_sent_at))
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) !== 1) throw new ApiError('rate_limited', 'A PIN is being sent already', undefined, 1);
    try {
      await this.deps.sms.send({
        to: row.e164,
        body: `Your Tessera verification PIN is ${pin}. It expires in 10 minutes. Do not share it.`,
        userId,
        phoneNumberId: id,
      });
    } catch (err) {
      // Undo the send so the person can retry at once and no PIN exists that nobody received.
      await db.updateTable('phone_numbers').set({
        pin_hash: row.pin_hash, pin_expires_at: row.pin_expires_at, pin_attempts: row.pin_attempts,
        pin_sent_at: row.pin_sent_at, pin_sends: row.pin_sends, pin_window_start: row.pin_window_start,
      }).where('id', '=', id).execute();
      // Nothing reached the phone, so the gap between two PINs does not apply to the retry; the
      // hourly counts keep the attempt (a failing gateway must not become a free loop either).
      await this.deps.limiter.reset(gapKey(row.e164));
      if (err instanceof SmsDeliveryError) throw new ApiError('sms_delivery_failed', `The SMS could not be sent: ${err.message}. Try again in a moment.`);
      throw err;
    }
    // Earlier PINs to this number no longer work; their copies in the outbox are redacted.
    await this.deps.db.updateTable('sms_messages').set({ body: REDACTED_PIN_TEXT })
      .where('phone_number_id', '=', id).where('body', 'not like', `%${pin}%`).execute();
  }

  async verify(userId: string, id: string, pinInput: string): Promise<PhoneNumber> {
    const db = this.deps.db;
    const pin = pinInput.trim();
    if (!/^\d{6}$/.test(pin)) throw new ApiError('validation_failed', 'pin: must be the 6 digits sent by SMS', { field: 'pin' });
    const now = this.deps.clock.now();
    const row = await db.selectFrom('phone_numbers').selectAll().where('user_id', '=', userId).where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound('Phone number');
    if (row.verified_at !== null) throw new ApiError('conflict', 'phone: this number is already verified', { field: 'phone' });
    if (row.pin_hash === null || row.pin_expires_at === null) {
      throw new ApiError('pin_expired', 'pin: there is no valid PIN for this number; generate a new one', { field: 'pin' });
    }
    if (row.pin_attempts >= PIN_MAX_ATTEMPTS) {
      throw tooManyWrongPins(row.pin_sent_at, now);
    }
    if (row.pin_expires_at <= now) {
      await this.invalidatePin(id);
      throw new ApiError('pin_expired', 'pin: this PIN has expired; generate a new one', { field: 'pin' });
    }
    // Spend an attempt before comparing, atomically, so parallel guesses cannot exceed the limit.
    const spent = await db.updateTable('phone_numbers').set((eb) => ({ pin_attempts: eb('pin_attempts', '+', 1) }))
      .where('id', '=', id).where('pin_hash', '=', row.pin_hash).where('pin_attempts', '<', PIN_MAX_ATTEMPTS)
      .executeTakeFirst();
    if (Number(spent.numUpdatedRows) !== 1) {
      throw tooManyWrongPins(row.pin_sent_at, now);
    }
    if (!(await verifyPassword(pin, row.pin_hash))) {
      const left = PIN_MAX_ATTEMPTS - row.pin_attempts - 1;
      if (left <= 0) {
        await this.invalidatePin(id);
        throw tooManyWrongPins(row.pin_sent_at, now);
      }
      throw new ApiError('pin_invalid', `pin: not the PIN that was sent; ${left} ${left === 1 ? 'try' : 'tries'} left`, { field: 'pin', attemptsLeft: left });
    }
    try {
      await db.transaction().execute(async (trx) => {
        await trx.updateTable('phone_numbers')
          .set({ verified_at: now, pin_hash: null, pin_expires_at: null, pin_attempts: 0 })
          .where('id', '=', id).execute();
        await trx.updateTable('sms_messages').set({ body: REDACTED_PIN_TEXT }).where('phone_number_id', '=', id).execute();
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new ApiError('phone_taken', 'phone: this number was verified by another account meanwhile', { field: 'phone' });
      throw err;
    }
    return this.get(userId, id);
  }

  async remove(userId: string, id: string): Promise<void> {
    await this.get(userId, id);
    await this.deps.db.transaction().execute(async (trx) => {
      await trx.updateTable('sms_messages').set({ body: REDACTED_PIN_TEXT }).where('phone_number_id', '=', id).execute();
      await trx.deleteFrom('phone_numbers').where('id', '=', id).execute();
    });
  }

  /** The development outbox, for the person whose actions sent the messages. */
  outbox(userId: string): Promise<{ id: string; recipient: string; body: string; created_at: number }[]> {
    return this.deps.db.selectFrom('sms_messages').select(['id', 'recipient', 'body', 'created_at'])
      .where('user_id', '=', userId).orderBy('id', 'desc').limit(50).execute();
  }

  /**
   * Counts a PIN about to be sent against the number (E.164) and the account, through the shared
   * rate limiter rather than the phone_numbers row: that row belongs to one account and is
   * deleted with the number, so "add number → remove it → add it again", or a second account
   * adding the same number, would otherwise start from zero each time and send without limit.
   */
  private async countSend(userId: string, e164: string): Promise<void> {
    const gap = await this.deps.limiter.hit(gapKey(e164), 1, PIN_RESEND_COOLDOWN_MS);
    if (!gap.allowed) {
      throw new ApiError('rate_limited', `A PIN was sent moments ago; you can ask for another in ${gap.retryAfter} s`, undefined, gap.retryAfter);
    }
    const hourly = [
      [`sms:e164:${e164}`, PIN_SENDS_PER_HOUR, 'to one number'],
      [`sms:user:${userId}`, PIN_SENDS_PER_USER_PER_HOUR, 'for one account'],
    ] as const;
    for (const [key, limit, what] of hourly) {
      const r = await this.deps.limiter.hit(key, limit, HOUR);
      if (!r.allowed) {
        // Nothing is sent, so the gap this request just took is given back: the next person
        // is told about the hourly limit, not about a PIN that never went out.
        await this.deps.limiter.reset(gapKey(e164));
        throw new ApiError('rate_limited', `At most ${limit} PINs an hour are sent ${what}; try again in ${Math.ceil(r.retryAfter / 60)} min`, undefined, r.retryAfter);
      }
    }
  }

  private async invalidatePin(id: string): Promise<void> {
    await this.deps.db.updateTable('phone_numbers').set({ pin_hash: null, pin_expires_at: null }).where('id', '=', id).execute();
    await this.redactOutbox(id);
  }

  private async redactOutbox(phoneNumberId: string): Promise<void> {
    await this.deps.db.updateTable('sms_messages').set({ body: REDACTED_PIN_TEXT }).where('phone_number_id', '=', phoneNumberId).execute();
  }
}
