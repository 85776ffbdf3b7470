// The Kandy envelope: every answer of the /v1.2 surface is {result, status, message}. Status 0 is
// success; the failure statuses are a small catalogue (1 and 3 are Kandy's documented ones, the
// rest are Tessera's, listed in docs/kandy.md). This is the serializer for that surface: it turns
// Tessera's ApiErrors and Fastify's own errors into envelopes with a matching HTTP status.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { JSONSchema } from 'json-schema-to-ts';
import { clientError, describeValidation } from '../http/errors.js';

export const KANDY_STATUS = {
  success: 0,
  /** Kandy: internal error, and the seed's "failed to register user on compass" (plan quota). */
  failed: 1,
  /** Kandy: missing parameters. */
  missing_parameter: 3,
  invalid_parameter: 4,
  unauthorized: 5,
  token_expired: 6,
  not_found: 7,
  conflict: 8,
  forbidden: 9,
  /** Too many wrong secrets from this client: wait Retry-After seconds. */
  rate_limited: 10,
} as const;

/** The seed's literal message for the plan's user limit; `detail` says what actually happened. */
export const QUOTA_MESSAGE = 'failed to register user on compass';

export interface KandyFailure { result: null; status: number; message: string; detail?: string }

export const Envelope = <const T extends JSONSchema>(result: T) => ({
  type: 'object',
  properties: { result, status: { type: 'integer' }, message: { type: 'string' } },
  required: ['result', 'status', 'message'],
}) as const;
export const Failure = {
  type: 'object',
  properties: { result: { type: 'null' }, status: { type: 'integer' }, message: { type: 'string' }, detail: { type: 'string' } },
  required: ['result', 'status', 'message'],
} as const;
export const failures = { 400: Failure, 401: Failure, 403: Failure, 404: Failure, 409: Failure, 415: Failure, 422: Failure, 429: Failure };

export function ok<T>(result: T, message = 'success'): { result: T; status: 0; message: string } {
  return { result, status: 0, message };
}

export function toKandyFailure(err: unknown, req: FastifyRequest): { http: number; body: KandyFailure; retryAfter?: number } {
  const fail = (http: number, status: number, message: string, detail?: string) => ({ http, body: { result: null, status, message, ...(detail ? { detail } : {}) } });
  const fe = err as FastifyError;
  if (fe.validation) {
    // No body at all is a missing parameter; a body that is not JSON (text/plain is parsed as a
    // string) is the wrong media type. Both would otherwise read "body: must be object".
    if (fe.validationContext === 'body' && (req.body === undefined || req.body === null)) return fail(400, KANDY_STATUS.missing_parameter, 'body: is required');
    if (fe.validationContext === 'body' && typeof req.body === 'string') return fail(415, KANDY_STATUS.invalid_parameter, 'body: send JSON (Content-Type: application/json)');
    const issue = fe.validation[0] as { keyword?: string } | undefined;
    const { message } = describeValidation(fe);
    return fail(400, issue?.keyword === 'required' ? KANDY_STATUS.missing_parameter : KANDY_STATUS.invalid_parameter, message);
  }
  if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return fail(415, KANDY_STATUS.invalid_parameter, 'body: send JSON (Content-Type: application/json)');
  if (fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return fail(400, KANDY_STATUS.missing_parameter, 'body: is required');
  const e = clientError(err);
  if (e) {
    const isMissing = e.details?.missing === true;
    switch (e.code) {
      case 'quota_exceeded': return fail(403, KANDY_STATUS.failed, QUOTA_MESSAGE, e.message);
      case 'validation_failed':
      case 'invalid_phone_number': return fail(400, isMissing ? KANDY_STATUS.missing_parameter : KANDY_STATUS.invalid_parameter, e.message);
      case 'unauthenticated': return fail(401, isMissing ? KANDY_STATUS.missing_parameter : KANDY_STATUS.unauthorized, e.message);
      case 'invalid_credentials':
      case 'invalid_token': return fail(401, KANDY_STATUS.unauthorized, e.message);
      case 'token_expired': return fail(401, KANDY_STATUS.token_expired, e.message);
      case 'not_found': return fail(404, KANDY_STATUS.not_found, e.message);
      case 'conflict': return fail(409, KANDY_STATUS.conflict, e.message);
      case 'forbidden': return fail(403, KANDY_STATUS.forbidden, e.message);
      case 'rate_limited': return { ...fail(429, KANDY_STATUS.rate_limited, e.message), retryAfter: e.retryAfter };
      default:
        if (e.status < 500) return fail(e.status, e.status === 422 ? KANDY_STATUS.conflict : KANDY_STATUS.invalid_parameter, e.message);
    }
  }
  req.log.error({ err }, 'unexpected error');
  return fail(500, KANDY_STATUS.failed, 'internal error; it has been logged');
}

export function kandyErrorHandler(err: unknown, req: FastifyRequest, reply: FastifyReply): void {
  const { http, body, retryAfter } = toKandyFailure(err, req);
  if (retryAfter) void reply.header('retry-after', String(retryAfter));
  // Serialized directly: a route's response schema for this status would drop `detail` otherwise.
  void reply.code(http).type('application/json; charset=utf-8').header('cache-control', 'no-store').serializer(JSON.stringify).send(body);
}

/** The token of a request: `Authorization: Bearer` (preferred, stays out of logs) or `key` (Kandy's way). */
export function tokenOf(req: FastifyRequest, key: string | undefined): string | undefined {
  const auth = req.headers.authorization;
  if (auth && /^bearer /i.test(auth)) return auth.slice(7).trim() || undefined;
  return key || undefined;
}
