// Text messages go through a provider interface. `outbox` (the development default) keeps each
// message in the database, shows it on the portal's SMS outbox page and prints it in the log, so
// a developer can finish a PIN flow with no gateway. `http` POSTs JSON to a real gateway.
import type { Kysely } from 'kysely';
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config.js';
import type { Database } from '../db/schema.js';
import type { Clock } from '../lib/clock.js';
import { uuidv7 } from '../lib/ids.js';

export interface SmsMessage {
  to: string;
  body: string;
  /** The account whose action sent it, and the phone-number record it is about (for redaction). */
  userId?: string;
  phoneNumberId?: string;
}

export interface SmsProvider {
  readonly name: string;
  send(message: SmsMessage): Promise<void>;
}

export class SmsDeliveryError extends Error {
  override name = 'SmsDeliveryError';
}

/** Development provider: the database is the phone. */
export class OutboxSmsProvider implements SmsProvider {
  readonly name = 'outbox';
  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock,
    private readonly log: FastifyBaseLogger,
    private readonly printBodies: boolean,
  ) {}

  async send(message: SmsMessage): Promise<void> {
    await this.db.insertInto('sms_messages').values({
      id: uuidv7(this.clock.now()),
      recipient: message.to,
      user_id: message.userId ?? null,
      phone_number_id: message.phoneNumberId ?? null,
      body: message.body,
      provider: this.name,
      created_at: this.clock.now(),
    }).execute();
    // The outbox is the development stand-in for a handset, so it prints the text on purpose —
    // except in production, where message bodies (PINs) are never logged.
    this.log.info({ sms: { to: message.to, ...(this.printBodies ? { body: message.body } : {}) } }, 'SMS outbox: message delivered (development provider)');
  }
}

/** Production provider: POST {to, body} with a bearer token to a gateway; 2xx means accepted. */
export class HttpSmsProvider implements SmsProvider {
  readonly name = 'http';
  constructor(
    private readonly url: string,
    private readonly token: string | undefined,
    private readonly timeoutMs = 5000,
  ) {}

  async send(message: SmsMessage): Promise<void> {
    let res: Response;
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        },
        body: JSON.stringify({ to: message.to, body: message.body }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new SmsDeliveryError(`SMS gateway unreachable: ${(err as Error).message}`);
    }
    if (!res.ok) throw new SmsDeliveryError(`SMS gateway answered ${res.status}`);
  }
}

export function createSmsProvider(config: Config, db: Kysely<Database>, clock: Clock, log: FastifyBaseLogger): SmsProvider {
  if (config.sms.provider === 'http') return new HttpSmsProvider(config.sms.httpUrl!, config.sms.httpToken);
  return new OutboxSmsProvider(db, clock, log, !config.production);
}
