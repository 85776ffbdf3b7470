// Single-use links sent by e-mail: proving an address (verify, 24 hours) and resetting a
// forgotten password (reset, 30 minutes). The token is a prefixed random secret shown only in
// the message; the database keeps its SHA-256. A link is spent by a compare-and-set on used_at,
// so two clicks cannot both succeed; issuing a new link of a kind spends the older ones.
//
// Asking for a reset never says whether an address has an account: the answer, and the time it
// takes (the message is sent after the answer), are the same either way.
import type { Deps } from '../deps.js';
import { recordAudit, type ClientInfo } from '../audit/audit-log.js';
import { isUniqueViolation } from '../deps.js';
import type { EmailLinkPurpose, UsersTable } from '../db/schema.js';
import { ApiError } from '../lib/errors.js';
import { sha256 } from '../lib/hash.js';
import { newSecret } from '../lib/ids.js';
import { blankUsedLink } from '../mail/mail.js';
import type { AccountsService } from '../accounts/accounts.service.js';
import { checkNewPassword, normaliseEmail } from '../accounts/accounts.service.js';

export const VERIFY_TTL_MS = 24 * 3600_000;
export const RESET_TTL_MS = 30 * 60_000;
const TTL: Record<EmailLinkPurpose, number> = { verify: VERIFY_TTL_MS, reset: RESET_TTL_MS, change: VERIFY_TTL_MS };
const PREFIX: Record<EmailLinkPurpose, string> = { verify: 'tev', reset: 'tpr', change: 'tec' };
/** Messages of one kind to one account per hour, and reset requests from one address. */
const SENDS_PER_HOUR = 5;
const RESETS_PER_ADDRESS_PER_HOUR = 20;
const HOUR = 3600_000;

type User = Pick<UsersTable, 'id' | 'email' | 'name'>;

const invalidLink = (): ApiError => new ApiError('invalid_token', 'This link is not valid any more: it was used, replaced by a newer one, or has expired. Ask for a new one.');

export class EmailLinks {
  constructor(private readonly deps: Deps, private readonly accounts: AccountsService) {}

  private async issue(user: User, purpose: EmailLinkPurpose, email = user.email): Promise<string> {
    const token = newSecret(PREFIX[purpose]);
    const now = this.deps.clock.now();
    await this.deps.db.transaction().execute(async (trx) => {
      await trx.updateTable('email_links').set({ used_at: now }).where('user_id', '=', user.id).where('purpose', '=', purpose).where('used_at', 'is', null).execute();
      await trx.insertInto('email_links').values({
        token_hash: sha256(token), user_id: user.id, purpose, email, created_at: now, expires_at: now + TTL[purpose], used_at: null,
      }).execute();
    });
    return token;
  }

  private async limit(key: string, limit: number): Promise<void> {
    const r = await this.deps.limiter.hit(key, limit, HOUR);
    if (!r.allowed) throw new ApiError('rate_limited', 'Too many e-mails asked for; try again later', undefined, r.retryAfter);
  }

  /** Sends a link that proves the account's current address. */
  async sendVerification(user: User): Promise<void> {
    await this.limit(`mail:verify:${user.id}`, SENDS_PER_HOUR);
    const token = await this.issue(user, 'verify');
    const link = `${this.deps.config.publicUrl}/email/verify?token=${encodeURIComponent(token)}`;
    await this.deps.mail.send({
      to: user.email, userId: user.id, linkHash: sha256(token), subject: 'Confirm your e-mail address',
      text: `Hello ${user.name},\n\nconfirm that ${user.email} is your address by opening this link within 24 hours:\n\n${link}\n\nIf you did not create an account, ignore this message.\n`,
    });
  }

  /** The link's state before the person confirms (the page shows what it will do). */
  async peek(token: string, purpose: EmailLinkPurpose): Promise<{ email: string } | undefined> {
    const row = await this.deps.db.selectFrom('email_links').select(['email', 'used_at', 'expires_at', 'purpose'])
      .where('token_hash', '=', sha256(token)).executeTakeFirst();
    return row && row.purpose === purpose && row.used_at === null && row.expires_at > this.deps.clock.now() ? { email: row.email } : undefined;
  }

  /** Spends a link: exactly one of any number of concurrent uses gets its row. */
  private async spend(token: string, purpose: EmailLinkPurpose): Promise<{ user_id: string; email: string }> {
    const hash = sha256(token);
    const now = this.deps.clock.now();
    const row = await this.deps.db.selectFrom('email_links').select(['user_id', 'email', 'purpose', 'used_at', 'expires_at']).where('token_hash', '=', hash).executeTakeFirst();
    if (!row || row.purpose !== purpose || row.used_at !== null || row.expires_at <= now) throw invalidLink();
    const res = await this.deps.db.updateTable('email_links').set({ used_at: now }).where('token_hash', '=', hash).where('used_at', 'is', null).executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) throw invalidLink();
    await blankUsedLink(this.deps.db, hash);
    return row;
  }

  /** Marks the address verified, if the account still uses the address the link was sent to. */
  async verify(token: string): Promise<{ userId: string; email: string }> {
    const row = await this.spend(token, 'verify');
    const res = await this.deps.db.updateTable('users').set({ email_verified_at: this.deps.clock.now() })
      .where('id', '=', row.user_id).where('email', '=', row.email).executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) throw invalidLink();
    return { userId: row.user_id, email: row.email };
  }

  /**
   * Sends a reset link if an account uses the address. Limited per address asked for and per
   * client address whether or not an account exists, so a 429 tells nothing either.
   */
  async requestReset(emailInput: string, ip: string): Promise<void> {
    const email = normaliseEmail(emailInput);
    await this.limit(`mail:reset-ip:${ip}`, RESETS_PER_ADDRESS_PER_HOUR);
    await this.limit(`mail:reset:${email}`, SENDS_PER_HOUR);
    // After the answer: the time an answer takes must not tell whether the address has an account.
    setImmediate(() => void this.sendReset(email).catch((err: unknown) => this.deps.log.error({ err }, 'password reset e-mail could not be sent')));
  }

  /**
   * The signed-in person asks for a link to set a password (an account made through an identity
   * provider has none): their own address, so nothing is hidden and the link is sent before the answer.
   */
  async sendPasswordLink(user: { email: string }, ip: string): Promise<void> {
    await this.limit(`mail:reset-ip:${ip}`, RESETS_PER_ADDRESS_PER_HOUR);
    await this.limit(`mail:reset:${user.email}`, SENDS_PER_HOUR);
    await this.sendReset(user.email);
  }

  private async sendReset(email: string): Promise<void> {
    const user = await this.deps.db.selectFrom('users').select(['id', 'email', 'name']).where('email', '=', email).executeTakeFirst();
    if (!user) return;
    const token = await this.issue(user, 'reset');
    const link = `${this.deps.config.publicUrl}/password/reset?token=${encodeURIComponent(token)}`;
    await this.deps.mail.send({
      to: user.email, userId: user.id, linkHash: sha256(token), subject: 'Reset your password',
      text: `Hello ${user.name},\n\nsomeone asked to reset the password of your account. If it was you, choose a new password within 30 minutes:\n\n${link}\n\nIf it was not you, ignore this message: your password stays as it is.\n`,
    });
  }

  /** After sign-up: the first verification link. A mail server that is down does not undo the account. */
  async welcome(user: User): Promise<boolean> {
    try {
      await this.sendVerification(user);
      return true;
    } catch (err) {
      this.deps.log.warn({ err, userId: user.id }, 'verification e-mail could not be sent at sign-up');
      return false;
    }
  }

  /**
   * A change of address (the e-mail redirect flow): a link to the new address, which makes it the
   * account's once followed, and a word to the current one, which stays until then.
   */
  async requestEmailChange(user: User, newEmailInput: string): Promise<void> {
    let email: string;
    try {
      email = normaliseEmail(newEmailInput);
    } catch {
      throw new ApiError('validation_failed', 'new_email: must be an e-mail address', { field: 'new_email' });
    }
    if (email === user.email) throw new ApiError('validation_failed', 'new_email: is already your address', { field: 'new_email' });
    const taken = await this.deps.db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst();
    if (taken) throw new ApiError('email_taken', 'new_email: another account uses this address', { field: 'new_email' });
    await this.limit(`mail:change:${user.id}`, SENDS_PER_HOUR);
    const token = await this.issue(user, 'change', email);
    const link = `${this.deps.config.publicUrl}/email/change?token=${encodeURIComponent(token)}`;
    await this.deps.mail.send({
      to: email, userId: user.id, linkHash: sha256(token), subject: 'Confirm your new e-mail address',
      text: `Hello ${user.name},\n\nconfirm that ${email} is to be the address of your account by opening this link within 24 hours:\n\n${link}\n\nUntil then the account keeps ${user.email}.\n`,
    });
    await this.deps.mail.send({
      to: user.email, userId: user.id, subject: 'A change of your e-mail address was asked for',
      text: `Hello ${user.name},\n\nsomeone signed in to your account asked to change its address to ${email}. It changes only when the link sent there is followed. If it was not you, change your password now.\n`,
    });
  }

  /** Makes the link's address the account's (now verified); the previous address is told. */
  async confirmEmailChange(token: string, client?: ClientInfo): Promise<{ email: string }> {
    const row = await this.spend(token, 'change');
    const before = await this.deps.db.selectFrom('users').select(['email', 'name']).where('id', '=', row.user_id).executeTakeFirstOrThrow();
    try {
      await this.deps.db.transaction().execute(async (trx) => {
        await trx.updateTable('users').set({ email: row.email, email_verified_at: this.deps.clock.now() }).where('id', '=', row.user_id).execute();
        await recordAudit(trx, { actor: { type: 'user', id: row.user_id }, action: 'email.changed', target: { type: 'user', id: row.user_id }, summary: `${before.email} → ${row.email}`, ...(client ? { client } : {}), at: this.deps.clock.now() });
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new ApiError('email_taken', 'Another account took this address in the meantime; ask for the change again with another one');
      throw err;
    }
    await this.deps.mail.send({
      to: before.email, userId: row.user_id, subject: 'Your e-mail address was changed',
      text: `Hello ${before.name},\n\nthe address of your account is now ${row.email}. If you did not ask for this, reset your password through ${row.email}'s owner or contact your administrator.\n`,
    }).catch((err: unknown) => this.deps.log.warn({ err }, 'could not tell the previous address of a change'));
    return { email: row.email };
  }

  /** Sets the new password and ends every session of the person; answers who it was. */
  async reset(token: string, password: string, client?: ClientInfo): Promise<string> {
    // The strength is judged before the link is spent, so a weak choice can be corrected.
    const peeked = await this.deps.db.selectFrom('email_links').innerJoin('users', 'users.id', 'email_links.user_id').select(['users.name', 'users.email'])
      .where('email_links.token_hash', '=', sha256(token)).executeTakeFirst();
    await checkNewPassword(password, peeked ? [peeked.name, peeked.email] : []);
    const row = await this.spend(token, 'reset');
    await this.accounts.setPassword(row.user_id, password, client);
    // Whoever could read the mailbox has proved the address too.
    await this.deps.db.updateTable('users').set({ email_verified_at: this.deps.clock.now() })
      .where('id', '=', row.user_id).where('email', '=', row.email).where('email_verified_at', 'is', null).execute();
    return row.user_id;
  }
}
