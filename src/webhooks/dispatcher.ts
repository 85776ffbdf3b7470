// Sends due webhook deliveries, at least once. Any instance may run it: a delivery is claimed by
// a compare-and-set on next_attempt_at (a lease), so two instances never send the same attempt.
// A failing endpoint is retried six times over about two days, then the webhook is disabled.
import type { Deps } from '../deps.js';
import { sign, signingSecret } from './crypto.js';
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
    const claimed = [];
    for (const d of due) {
      const res = await db.updateTable('webhook_deliveries').set({ next_attempt_at: now + LEASE_MS })
        .where('id', '=', d.id).where('next_attempt_at', '=', d.next_attempt_at).where('status', '=', 'pending').executeTakeFirst();
      if (Number(res.numUpdatedRows) === 1) claimed.push(d);
    }
    await Promise.all(claimed.map(async (d) => {
      if (d.active !== 1 || d.revoked_at !== null) {
        await db.updateTable('webhook_deliveries').set({ status: 'failed', last_error: 'webhook disabled or access revoked' }).where('id', '=', d.id).execute();
        return;
      }
      const error = await this.post(d);
      const at = this.deps.clock.now();
      if (error === undefined) {
        await db.updateTable('webhook_deliveries').set({ status: 'delivered', attempts: d.attempts + 1, delivered_at: at, last_error: null }).where('id', '=', d.id).execute();
        return;
      }
      const attempts = d.attempts + 1;
      const delay = RETRY_DELAYS_MS[attempts - 1];
      if (delay === undefined) {
        await db.transaction().execute(async (trx) => {
          await trx.updateTable('webhook_deliveries').set({ status: 'failed', attempts, last_error: error }).where('id', '=', d.id).execute();
          await trx.updateTable('webhooks').set({ active: 0, updated_at: at }).where('id', '=', d.webhook_id).execute();
        });
        this.deps.log.warn({ webhookId: d.webhook_id }, 'webhook disabled after repeated delivery failures');
      } else {
        await db.updateTable('webhook_deliveries').set({ attempts, next_attempt_at: at + delay, last_error: error }).where('id', '=', d.id).execute();
      }
    }));
    return claimed.length;
  }

  /** One POST; answers undefined on a 2xx, else a short reason. */
  private async post(d: { event_id: string; payload: string; webhook_id: string; callback_url: string; callback_token_enc: string | null }): Promise<string | undefined> {
    const ts = Math.floor(this.deps.clock.now() / 1000);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'Tessera-Webhooks/1',
      'webhook-id': d.event_id,
      'webhook-timestamp': String(ts),
      'webhook-signature': sign(signingSecret(this.key, d.webhook_id), d.event_id, ts, d.payload),
    };
    if (d.callback_token_enc) headers['kz-callback-token'] = decrypt(this.key, d.callback_token_enc);
    try {
      const res = await fetch(d.callback_url, { method: 'POST', headers, body: d.payload, redirect: 'manual', signal: AbortSignal.timeout(TIMEOUT_MS) });
      await res.body?.cancel();
      return res.status >= 200 && res.status < 300 ? undefined : `endpoint answered ${res.status}`;
    } catch (err) {
      return `endpoint unreachable: ${(err as Error).message}`;
    }
  }
}
