// Safe retries for the endpoints that create things: a client that lost its connection sends the
// same request again with the same `Idempotency-Key` header and gets the first answer back,
// without a second write (the IETF draft "The Idempotency-Key HTTP Header Field", as Stripe and
// others implement it).
//
// The rule: within 24 hours, the same caller (scope), key and request (method, route, parameters,
// body) answer what the first request answered, with `Idempotent-Replayed: true`; the same key
// with another request is 422 idempotency_key_reused. Only a successful creation is remembered: a
// refused request wrote nothing and may be sent again as it is.
//
// Exactly once, on both databases and across instances: the answer is recorded by the creating
// service inside its own write transaction (`RecordAnswer`), under the primary key (scope, key).
// Of two concurrent requests with one key, the second's insert waits for the first's commit and
// then fails; its transaction, with its write, rolls back, and it answers the first's answer.
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Deps } from '../deps.js';
import type { Database } from '../db/schema.js';
import { ApiError } from '../lib/errors.js';
import { decrypt, encrypt } from '../lib/aead.js';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const KEPT_MS = 24 * 3600_000;
const KEY_RE = /^[\x20-\x7e]{1,255}$/;

/** What a creating endpoint answers: its status and the body before serialisation. */
export interface Answer { status: number; body: unknown }

/** Called by a creating service last in its write transaction, with what it made. */
export type RecordAnswer<R> = (trx: Kysely<Database>, result: R) => Promise<void>;

/** JSON with object keys sorted, so two spellings of one body are one request. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** The request as the key promises it: method, route, route parameters and body (not the query, which may carry a fresh token). */
function requestHash(req: FastifyRequest): string {
  return createHash('sha256').update(`${req.method} ${req.routeOptions.url ?? ''}\n${canonical(req.params)}\n${canonical(req.body)}`).digest('base64url');
}

/** The request's key: undefined without the header; a malformed one is refused, not ignored. */
function keyOf(req: FastifyRequest): string | undefined {
  const value = req.headers[IDEMPOTENCY_HEADER];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !KEY_RE.test(value)) {
    throw new ApiError('validation_failed', 'Idempotency-Key: must be 1 to 255 printable ASCII characters, sent once', { field: 'Idempotency-Key' });
  }
  return value;
}

const send = (reply: FastifyReply, answer: Answer): FastifyReply => reply.code(answer.status).send(answer.body);

export class Idempotency {
  constructor(private readonly deps: Deps, private readonly key: Buffer) {}

  /**
   * Answers a creating request at most once per key. `create` does the write and calls the
   * recorder it is given inside its transaction; `answer` turns what it made into the answer.
   */
  async run<R>(req: FastifyRequest, reply: FastifyReply, scope: string, create: (record?: RecordAnswer<R>) => Promise<R>, answer: (result: R) => Answer): Promise<FastifyReply> {
    const key = keyOf(req);
    if (key === undefined) return send(reply, answer(await create()));
    const hash = requestHash(req);
    const earlier = await this.find(scope, key, hash);
    if (earlier) return this.replay(reply, earlier);
    try {
      return send(reply, answer(await create((trx, result) => this.record(trx, scope, key, hash, answer(result)))));
    } catch (err) {
      // A concurrent request with this key committed first (this one's write rolled back, or was
      // refused as a duplicate of what the first made): its answer is this request's answer.
      const winner = await this.find(scope, key, hash);
      if (winner) return this.replay(reply, winner);
      throw err;
    }
  }

  private replay(reply: FastifyReply, answer: Answer): FastifyReply {
    return send(reply.header('idempotent-replayed', 'true'), answer);
  }

  private async find(scope: string, key: string, hash: string): Promise<Answer | undefined> {
    const row = await this.deps.db.selectFrom('idempotency_keys').select(['request_hash', 'status', 'answer_enc', 'expires_at'])
      .where('scope', '=', scope).where('key', '=', key).executeTakeFirst();
    if (!row || row.expires_at <= this.deps.clock.now()) return undefined;
    if (row.request_hash !== hash) {
      throw new ApiError('idempotency_key_reused', 'Idempotency-Key: was used in the last 24 hours for a different request', { field: 'Idempotency-Key' });
    }
    return { status: row.status, body: JSON.parse(decrypt(this.key, row.answer_enc, `${scope}\n${key}`)) };
  }

  private async record(trx: Kysely<Database>, scope: string, key: string, hash: string, answer: Answer): Promise<void> {
    const now = this.deps.clock.now();
    // An expired use of the key (not yet pruned) gives way to this one.
    await trx.deleteFrom('idempotency_keys').where('scope', '=', scope).where('key', '=', key).where('expires_at', '<=', now).execute();
    await trx.insertInto('idempotency_keys').values({
      scope, key, request_hash: hash, status: answer.status,
      answer_enc: encrypt(this.key, JSON.stringify(answer.body), `${scope}\n${key}`), created_at: now, expires_at: now + KEPT_MS,
    }).execute();
  }
}
