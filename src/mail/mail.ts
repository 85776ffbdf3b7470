// E-mail goes through a provider interface, like text messages (sms/sms.ts). `smtp` sends
// through nodemailer to SMTP_URL; `outbox` (the development default) keeps each message in the
// database for the portal's e-mail outbox page. A message that carries a single-use link names
// the link's hash, so using the link blanks the outbox copy (the link is a credential).
import type { Kysely } from 'kysely';
import type { FastifyBaseLogger } from 'fastify';
import type { Transporter } from 'nodemailer';
import type { Config } from '../config.js';
import type { Database } from '../db/schema.js';
import type { Clock } from '../lib/clock.js';
import { uuidv7 } from '../lib/ids.js';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  /** The account the message is for (the outbox page shows a person only theirs). */
  userId?: string;
  /** SHA-256 of a single-use link's token in the text. */
  linkHash?: string;
}

export interface MailProvider {
  readonly name: string;
  send(message: MailMessage): Promise<void>;
  close?(): void;
}

export class MailDeliveryError extends Error {
  override name = 'MailDeliveryError';
}

/** Development provider: the database is the mailbox. */
export class OutboxMailProvider implements MailProvider {
  readonly name = 'outbox';
  constructor(private readonly db: Kysely<Database>, private readonly clock: Clock, private readonly log: FastifyBaseLogger) {}

  async send(m: MailMessage): Promise<void> {
    await this.db.insertInto('mail_messages').values({
      id: uuidv7(this.clock.now()), recipient: m.to, user_id: m.userId ?? null, subject: m.subject, body: m.text,
      link_hash: m.linkHash ?? null, provider: this.name, created_at: this.clock.now(),
    }).execute();
    // Never the body: it may carry a link that works as a password.
    this.log.info({ mail: { to: m.to, subject: m.subject } }, 'e-mail outbox: message kept (development provider; read it on the portal\'s E-mail outbox page)');
  }
}

/** Production provider: SMTP through nodemailer (pooled connections). */
export class SmtpMailProvider implements MailProvider {
  readonly name = 'smtp';
  private readonly transport: Transporter;

  constructor(nodemailer: typeof import('nodemailer'), smtpUrl: string, private readonly from: string) {
    this.transport = nodemailer.createTransport({ url: smtpUrl, pool: true, connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 20_000 });
  }

  async send(m: MailMessage): Promise<void> {
    try {
      await this.transport.sendMail({ from: this.from, to: m.to, subject: m.subject, text: m.text });
    } catch (err) {
      throw new MailDeliveryError(`SMTP: ${(err as Error).message}`);
    }
  }

  close(): void {
    this.transport.close();
  }
}

/** nodemailer is loaded only when SMTP is configured: ≈ 3 MB of idle memory the outbox never needs. */
export async function createMailProvider(config: Config, db: Kysely<Database>, clock: Clock, log: FastifyBaseLogger): Promise<MailProvider> {
  if (!config.mail.smtpUrl) return new OutboxMailProvider(db, clock, log);
  return new SmtpMailProvider(await import('nodemailer'), config.mail.smtpUrl, config.mail.from);
}

/** The outbox's messages for one person, newest first. */
export const outboxOf = (db: Kysely<Database>, userId: string) =>
  db.selectFrom('mail_messages').select(['id', 'recipient', 'subject', 'body', 'created_at']).where('user_id', '=', userId).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(50).execute();

/** What a used link's message shows instead of the link. */
export const USED_LINK_TEXT = '[This message carried a single-use link, which has been used.]';

export async function blankUsedLink(db: Kysely<Database>, linkHash: string): Promise<void> {
  await db.updateTable('mail_messages').set({ body: USED_LINK_TEXT }).where('link_hash', '=', linkHash).execute();
}
