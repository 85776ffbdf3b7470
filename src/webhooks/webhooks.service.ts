// Webhook registration for connectors (Kaizala's /v1/webhook): a connector subscribes to events
// of its granted group (or a subgroup). Registration calls the endpoint with a validationToken
// that it must echo within five seconds, so nobody can point deliveries at a URL they do not run.
import { randomBytes } from 'node:crypto';
import type { Deps } from '../deps.js';
import { ApiError, invalid, notFound } from '../lib/errors.js';
import { newId } from '../lib/ids.js';
import { byConnector, type PlatformContext } from '../kaizala/access-tokens.js';
import type { PlatformService } from '../kaizala/platform.service.js';
import type { Database, WebhooksTable } from '../db/schema.js';
import type { Kysely } from 'kysely';
import { recordAudit, type ClientInfo } from '../audit/audit-log.js';
import { signingSecret } from './crypto.js';
import { encrypt } from '../lib/aead.js';
import type { RecordAnswer } from '../idempotency/idempotency.js';

export type RegisteredWebhook = { webhookId: string; signingSecret: string };
import { EVENT_TYPES } from './events.js';
import { checkCallbackUrl } from './targets.js';

const HANDSHAKE_TIMEOUT_MS = 5_000;
const DAY = 24 * 3600 * 1000;

export interface WebhookInput {
  objectId: string;
  objectType: string;
  eventTypes: string[];
  callBackUrl: string;
  callBackToken?: string;
  callBackContext?: string;
  /** Days the subscription lasts; forever when absent. */
  validity?: number;
}

export type WebhookView = {
  webhookId: string; objectId: string; objectType: string; eventTypes: string[]; callBackUrl: string;
  callBackContext: string; active: boolean; expiresAt: number | null;
};

function view(w: WebhooksTable): WebhookView {
  return {
    webhookId: w.id, objectId: w.object_id, objectType: w.object_type, eventTypes: JSON.parse(w.event_types) as string[],
    callBackUrl: w.callback_url, callBackContext: w.callback_context ?? '', active: w.active === 1, expiresAt: w.expires_at,
  };
}

function checkEventTypes(values: string[]): string[] {
  const set = [...new Set(values)];
  if (!set.length) throw invalid('eventTypes', 'choose at least one event type');
  for (const v of set) {
    if (!(EVENT_TYPES as readonly string[]).includes(v)) throw invalid('eventTypes', `"${v}" is not a supported event type; use ${EVENT_TYPES.join(', ')}`);
  }
  return set;
}

export class WebhooksService {
  constructor(private readonly deps: Deps, private readonly platform: PlatformService, private readonly key: Buffer) {}

  async register(ctx: PlatformContext, client: ClientInfo, input: WebhookInput, record?: RecordAnswer<RegisteredWebhook>): Promise<RegisteredWebhook> {
    this.platform.require(ctx, 'webhook.write');
    if (input.objectType !== 'Group') throw invalid('objectType', 'must be "Group"');
    await this.platform.groupInScope(ctx, input.objectId);
    const eventTypes = checkEventTypes(input.eventTypes);
    const url = await this.checkedUrl(input.callBackUrl);
    await this.handshake(url);
    const now = this.deps.clock.now();
    const id = newId();
    const registered = { webhookId: id, signingSecret: signingSecret(this.key, id) };
    await this.deps.db.transaction().execute(async (trx) => {
      await trx.insertInto('webhooks').values({
        id, grant_id: ctx.grantId, connector_id: ctx.connectorId, object_id: input.objectId, object_type: 'Group',
        event_types: JSON.stringify(eventTypes), callback_url: url.toString(),
        callback_token_enc: input.callBackToken ? encrypt(this.key, input.callBackToken) : null,
        callback_context: input.callBackContext ?? null, active: 1,
        expires_at: input.validity ? now + input.validity * DAY : null, created_at: now, updated_at: now,
      }).execute();
      await record?.(trx, registered);
      await this.audit(trx, ctx, client, 'webhook.created', id, `${eventTypes.join(', ')} on group ${input.objectId} → ${url.host}`);
    });
    return registered;
  }

  async list(ctx: PlatformContext, objectId: string, objectType: string): Promise<WebhookView[]> {
    this.platform.require(ctx, 'webhook.read');
    if (objectType !== 'Group') throw invalid('objectType', 'must be "Group"');
    await this.platform.groupInScope(ctx, objectId);
    const rows = await this.deps.db.selectFrom('webhooks').selectAll()
      .where('connector_id', '=', ctx.connectorId).where('object_id', '=', objectId).orderBy('created_at').execute();
    return rows.map(view);
  }

  async update(ctx: PlatformContext, client: ClientInfo, id: string, patch: Partial<Omit<WebhookInput, 'objectId' | 'objectType'>> & { Active?: boolean }): Promise<WebhookView> {
    this.platform.require(ctx, 'webhook.write');
    const hook = await this.owned(ctx, id);
    const set: Partial<WebhooksTable> = { updated_at: this.deps.clock.now() };
    if (patch.eventTypes) set.event_types = JSON.stringify(checkEventTypes(patch.eventTypes));
    if (patch.callBackUrl !== undefined) {
      const url = await this.checkedUrl(patch.callBackUrl);
      await this.handshake(url);
      set.callback_url = url.toString();
    }
    if (patch.callBackToken !== undefined) set.callback_token_enc = patch.callBackToken ? encrypt(this.key, patch.callBackToken) : null;
    if (patch.callBackContext !== undefined) set.callback_context = patch.callBackContext;
    if (patch.validity !== undefined) set.expires_at = this.deps.clock.now() + patch.validity * DAY;
    if (patch.Active !== undefined) set.active = patch.Active ? 1 : 0;
    await this.deps.db.transaction().execute(async (trx) => {
      await trx.updateTable('webhooks').set(set).where('id', '=', hook.id).execute();
      const changed = Object.keys(patch).filter((k) => (patch as Record<string, unknown>)[k] !== undefined);
      await this.audit(trx, ctx, client, 'webhook.updated', hook.id, `changed ${changed.join(', ') || 'nothing'}`);
    });
    return view({ ...hook, ...set } as WebhooksTable);
  }

  async remove(ctx: PlatformContext, client: ClientInfo, id: string): Promise<void> {
    this.platform.require(ctx, 'webhook.write');
    const hook = await this.owned(ctx, id);
    await this.deps.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('webhooks').where('id', '=', hook.id).execute();
      await this.audit(trx, ctx, client, 'webhook.deleted', hook.id, `on group ${hook.object_id} → ${new URL(hook.callback_url).host}`);
    });
  }

  /** A connector's change through the API, in its organisation's log (the callback's host only: its path or query may hold a secret). */
  private audit(trx: Kysely<Database>, ctx: PlatformContext, client: ClientInfo, action: string, id: string, summary: string): Promise<void> {
    return recordAudit(trx, { ...byConnector(ctx, client), orgId: ctx.orgId, action, target: { type: 'webhook', id }, summary: `${ctx.connectorName}: ${summary}`, at: this.deps.clock.now() });
  }

  /** A webhook of this connector on a group this token reaches; anything else does not exist. */
  private async owned(ctx: PlatformContext, id: string): Promise<WebhooksTable> {
    const hook = await this.deps.db.selectFrom('webhooks').selectAll().where('id', '=', id).where('connector_id', '=', ctx.connectorId).executeTakeFirst();
    if (!hook) throw notFound('Webhook');
    try {
      await this.platform.groupInScope(ctx, hook.object_id);
    } catch {
      throw notFound('Webhook');
    }
    return hook;
  }

  private checkedUrl(raw: string): Promise<URL> {
    return checkCallbackUrl(raw, this.deps.config.webhookAllowPrivateTargets);
  }

  /** GET callBackUrl?validationToken=… must answer 200 with the token as its body within 5 s. */
  private async handshake(url: URL): Promise<void> {
    const token = randomBytes(16).toString('hex');
    const probe = new URL(url);
    probe.searchParams.set('validationToken', token);
    let body: string;
    try {
      const res = await fetch(probe, { redirect: 'manual', signal: AbortSignal.timeout(HANDSHAKE_TIMEOUT_MS) });
      body = res.ok ? (await res.text()).trim() : `HTTP ${res.status}`;
    } catch (err) {
      throw new ApiError('webhook_validation_failed', `callBackUrl: the endpoint could not be reached (${(err as Error).message})`, { field: 'callBackUrl' });
    }
    if (body !== token) {
      throw new ApiError('webhook_validation_failed', 'callBackUrl: the endpoint must answer the validation request with the validationToken as plain text', { field: 'callBackUrl' });
    }
  }
}
