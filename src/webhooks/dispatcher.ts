// Sends due webhook deliveries, at least once. Any instance may run it: a delivery is claimed by
// a compare-and-set on next_attempt_at (a lease), so two instances never send the same attempt.
// A failing endpoint is retried six times over about two days, then the webhook is disabled (a
// platform's event is dropped). Two queues: group events for connectors' webhooks and membership
// events for platforms' endpoints.
import type { Deps } from '../deps.js';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { loomSignature, platformSigningSecret, sign, signingSecret } from './crypto.js';
import { decrypt } from '../lib/aead.js';

const MIN = 60_000;
/** Delays before retries 1…6 (≈ 45 hours in all). */
export const RETRY_DELAYS_MS = [5 * MIN, 30 * MIN, 120 * MIN, 360 * MIN, 720 * MIN, 1440 * MIN];
const LEASE_MS = 60_000;
const TIMEOUT_MS = 5_000;
const BATCH = 25;

export class WebhookDispatcher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;

  constructor(private readonly deps: Deps, private readonly key: Buffer) {}

  start(intervalMs = 1000): void {
    this.timer = setInterval(() => void this.runDue().catch((err: unknown) => this.deps.log.error({ err }, 'webhook dispatch failed')), intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  /** Sends every delivery that is due now; answers how many were attempted. */
  runDue(): Promise<number> {
    this.running ??= this.sendBatch().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async sendBatch(): Promise<number> {
    const [groups, platforms] = await Promise.all([this.groupDeliveries(), this.platformDeliveries()]);
    return groups + platforms;
  }

  /** Group events for connectors' webhooks (Kaizala): Standard Webhooks signatures, the callback token. */
  private async groupDeliveries(): Promise<number> {
    const db = this.deps.db;
    const now = this.deps.clock.now();
    const due = await db.selectFrom('webhook_deliveries')
      .innerJoin('webhooks', 'webhooks.id', 'webhook_deliveries.webhook_id')
      .innerJoin('grants', 'grants.id', 'webhooks.grant_id')
      .select(['webhook_deliveries.id', 'webhook_deliveries.event_id', 'webhook_deliveries.payload', 'webhook_deliveries.attempts',
        'webhook_deliveries.next_attempt_at', 'webhook_deliveries.webhook_id', 'webhooks.callback_url', 'webhooks.callback_token_enc',
        'webhooks.active', 'grants.revoked_at'])
      .where('webhook_deliveries.status', '=', 'pending').where('webhook_deliveries.next_attempt_at', '<=', now)
      .orderBy('webhook_deliveries.next_attempt_at').limit(BATCH).execute();
    return this.deliver('webhook_deliveries', due.map((d) => ({
      ...d, url: d.active === 1 && d.revoked_at === null ? d.callback_url : null,
      headers: () => ({
        'webhook-signature': sign(signingSecret(this.key, d.webhook_id), d.event_id, this.nowSec(), d.payload),
        ...(d.callback_token_enc ? { 'kz-callback-token': decrypt(this.key, d.callback_token_enc) } : {}),
      }),
      // A webhook that keeps failing is switched off; its owner registers it again.
      giveUp: async (trx: Kysely<Database>, at: number) => {
        await trx.updateTable('webhooks').set({ active: 0, updated_at: at }).where('id', '=', d.webhook_id).execute();
        this.deps.log.warn({ webhookId: d.webhook_id }, 'webhook disabled after repeated delivery failures');
      },
    })));
  }

  /** Membership events for a platform's endpoint: Standard Webhooks and Zaikio's X-Loom-Signature. */
  private async platformDeliveries(): Promise<number> {
    const db = this.deps.db;
    const now = this.deps.clock.now();
    const due = await db.selectFrom('platform_event_deliveries')
      .innerJoin('platforms', 'platforms.id', 'platform_event_deliveries.platform_id')
      .select(['platform_event_deliveries.id', 'platform_event_deliveries.event_id', 'platform_event_deliveries.payload', 'platform_event_deliveries.attempts',
        'platform_event_deliveries.next_attempt_at', 'platform_event_deliveries.platform_id', 'platforms.webhook_url'])
      .where('platform_event_deliveries.status', '=', 'pending').where('platform_event_deliveries.next_attempt_at', '<=', now)
      .orderBy('platform_event_deliveries.next_attempt_at').limit(BATCH).execute();
    return this.deliver('platform_event_deliveries', due.map((d) => {
      const secret = platformSigningSecret(this.key, d.platform_id);
      return {
        ...d, url: d.webhook_url,
        headers: () => ({ 'webhook-signature': sign(secret, d.event_id, this.nowSec(), d.payload), 'x-loom-signature': loomSignature(secret, d.payload) }),
        giveUp: async () => {
          this.deps.log.warn({ platformId: d.platform_id }, 'platform event dropped after repeated delivery failures');
        },
      };
    }));
  }

  private nowSec(): number {
    return Math.floor(this.deps.clock.now() / 1000);
  }

  /**
   * Claims each due delivery with a lease (a compare-and-set on next_attempt_at), sends it, and
   * records the outcome: delivered, retried later, or failed after the last retry. `url` null
   * means the target is gone or switched off: the delivery fails without a request.
   */
  private async deliver(table: DeliveryTable, due: Due[]): Promise<number> {
    const queue = table === 'webhook_deliveries' ? 'group' : 'platform';
    const db = this.deps.db as unknown as Kysely<Pick<Database, 'webhook_deliveries'>>;
    const t = table as 'webhook_deliveries';
    const now = this.deps.clock.now();
    const claimed: Due[] = [];
    for (const d of due) {
      const res = await db.updateTable(t).set({ next_attempt_at: now + LEASE_MS })
        .where('id', '=', d.id).where('next_attempt_at', '=', d.next_attempt_at).where('status', '=', 'pending').executeTakeFirst();
      if (Number(res.numUpdatedRows) === 1) claimed.push(d);
    }
    await Promise.all(claimed.map(async (d) => {
      if (d.url === null) {
        await db.updateTable(t).set({ status: 'failed', last_error: 'the endpoint is gone, disabled or its access revoked' }).where('id', '=', d.id).execute();
        this.deps.metrics.delivery(queue, 'dropped');
        return;
      }
      const error = await this.post(d.url, d.event_id, d.payload, d.headers());
      const at = this.deps.clock.now();
      if (error === undefined) {
        await db.updateTable(t).set({ status: 'delivered', attempts: d.attempts + 1, delivered_at: at, last_error: null }).where('id', '=', d.id).execute();
        this.deps.metrics.delivery(queue, 'delivered');
        return;
      }
      const attempts = d.attempts + 1;
      const delay = RETRY_DELAYS_MS[attempts - 1];
      if (delay === undefined) {
        await this.deps.db.transaction().execute(async (trx) => {
          await (trx as unknown as typeof db).updateTable(t).set({ status: 'failed', attempts, last_error: error }).where('id', '=', d.id).execute();
          await d.giveUp(trx, at);
        });
        this.deps.metrics.delivery(queue, 'failed');
      } else {
        await db.updateTable(t).set({ attempts, next_attempt_at: at + delay, last_error: error }).where('id', '=', d.id).execute();
        this.deps.metrics.delivery(queue, 'retry');
      }
    }));
    return claimed.length;
  }

  /** One POST; answers undefined on a 2xx, else a short reason. */
  private async post(url: string, eventId: string, payload: string, signed: Record<string, string>): Promise<string | undefined> {
    const headers: Record<string, string> = {
      'content-type': 'application/json', 'user-agent': 'Tessera-Webhooks/1', 'webhook-id': eventId, 'webhook-timestamp': String(this.nowSec()), ...signed,
    };
    try {
      const res = await fetch(url, { method: 'POST', headers, body: payload, redirect: 'manual', signal: AbortSignal.timeout(TIMEOUT_MS) });
      await res.body?.cancel();
      return res.status >= 200 && res.status < 300 ? undefined : `endpoint answered ${res.status}`;
    } catch (err) {
      return `endpoint unreachable: ${(err as Error).message}`;
    }
  }
}

/** The two delivery queues have the same columns; each names its target its own way. */
type DeliveryTable = 'webhook_deliveries' | 'platform_event_deliveries';

interface Due {
  id: string;
  event_id: string;
  payload: string;
  attempts: number;
  next_attempt_at: number;
  url: string | null;
  headers: () => Record<string, string>;
  giveUp: (trx: Kysely<Database>, at: number) => Promise<void>;
}
