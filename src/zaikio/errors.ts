// The Zaikio-compatible directory surface answers errors as Zaikio's API does:
// `{"errors": ["no_jwt_passed"]}` (401), `{"errors": ["jwt_expired" | "invalid_jwt" |
// "unpermitted_scope" | "unpermitted_subject"]}` (403), `{"errors": ["not_found"]}` (404), and
// field errors as `{"errors": {"field": ["message"]}}`: 400 for a body that does not fit the
// schema, 422 for a well-formed one the resource refuses (a blank name, an unknown country).
// One serializer for the surface.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { clientError } from '../http/errors.js';

/** Tessera's error codes in Zaikio's words and statuses; a code not listed keeps both. */
const ZAIKIO_CODES: Record<string, [string, number]> = {
  unauthenticated: ['no_jwt_passed', 401], token_expired: ['jwt_expired', 403], invalid_token: ['invalid_jwt', 403],
  insufficient_permission: ['unpermitted_scope', 403], forbidden: ['unpermitted_subject', 403],
};

export type ZaikioErrors = { errors: string[] | Record<string, string[]> };

export function zaikioErrorHandler(err: unknown, req: FastifyRequest, reply: FastifyReply): void {
  const e = clientError(err);
  let status = 500;
  let body: ZaikioErrors = { errors: ['internal_error'] };
  if (e) {
    const [code, zaikioStatus] = ZAIKIO_CODES[e.code] ?? [e.code, e.status];
    status = zaikioStatus;
    const field = e.details?.field;
    if (e.code === 'unprocessable' && e.details?.errors) body = { errors: e.details.errors as Record<string, string[]> };
    else if (e.code === 'validation_failed' && typeof field === 'string') {
      body = { errors: { [field]: [e.message.startsWith(`${field}: `) ? e.message.slice(field.length + 2) : e.message] } };
    } else body = { errors: [code] };
    if (e.retryAfter) void reply.header('retry-after', String(e.retryAfter));
  } else {
    req.log.error({ err }, 'unexpected error');
  }
  void reply.code(status).type('application/json; charset=utf-8').header('cache-control', 'no-store').serializer(JSON.stringify).send(body);
}
