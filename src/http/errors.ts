// The JSON error serializer for Tessera's own APIs: {"error": {"code", "message", "details"?}}.
// Schema validation failures name the field; anything unexpected is logged and answered as
// internal_error without internals.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ApiError, type ErrorCode } from '../lib/errors.js';

interface AjvIssue { instancePath?: string; keyword?: string; message?: string; params?: Record<string, unknown> }

// HTTP lower-cases header names; errors name them as the API documents them.
const HEADER_NAMES: Record<string, string> = {
  applicationid: 'applicationId', applicationsecret: 'applicationSecret', refreshtoken: 'refreshToken', accesstoken: 'accessToken',
};

/**
 * A JSON Pointer as the API names fields: `members[0]`, `a.b` (array items in brackets, as the
 * services name them too, e.g. an invalid phone number in `members[1]`).
 */
export function fieldName(instancePath: string): string {
  if (!instancePath) return '';
  return instancePath.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((out, seg) => (/^\d+$/.test(seg) ? `${out}[${seg}]` : out ? `${out}.${seg}` : seg), '');
}

/** Turns the first schema-validation issue into a field name and a sentence. */
export function describeValidation(err: FastifyError): { field: string; message: string } {
  const issue = (err.validation?.[0] ?? {}) as AjvIssue;
  const where = err.validationContext ?? 'body';
  let field = fieldName(issue.instancePath ?? '');
  if (issue.keyword === 'required' && typeof issue.params?.missingProperty === 'string') {
    const missing = where === 'headers' ? HEADER_NAMES[issue.params.missingProperty] ?? issue.params.missingProperty : issue.params.missingProperty;
    field = field ? `${field}.${missing}` : missing;
    return { field, message: `${field}: is required` };
  }
  if (issue.keyword === 'additionalProperties' && typeof issue.params?.additionalProperty === 'string') {
    const extra = issue.params.additionalProperty;
    return { field: extra, message: `${extra}: is not an accepted field` };
  }
  if (where === 'headers' && HEADER_NAMES[field]) field = HEADER_NAMES[field]!;
  if (!field) field = where === 'body' ? 'body' : where;
  return { field, message: `${field}: ${issue.message ?? 'is not valid'}` };
}

export interface ErrorBody { code: ErrorCode | string; message: string; details?: Record<string, unknown> }

/**
 * Tessera's own error for what a client got wrong before a handler ran: a schema-validation
 * failure, or one of Fastify's 4xx errors (a body that is not JSON, too large, of a media type the
 * route does not take; `accepts` says what it does take). Undefined for anything else, which is a
 * fault on this side.
 */
export function clientError(err: unknown, accepts = 'JSON (Content-Type: application/json)'): ApiError | undefined {
  if (err instanceof ApiError) return err;
  const fe = err as FastifyError;
  if (fe.validation) {
    const { field, message } = describeValidation(fe);
    return new ApiError('validation_failed', message, { field });
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': return new ApiError('unsupported_media_type', `content-type: send ${accepts}`, { field: 'content-type' });
    case 'FST_ERR_CTP_BODY_TOO_LARGE': return new ApiError('payload_too_large', 'body: is larger than this endpoint accepts', { field: 'body' });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY': return new ApiError('validation_failed', 'body: is empty but its content-type says JSON', { field: 'body' });
    case 'FST_ERR_CTP_INVALID_JSON_BODY': return new ApiError('validation_failed', 'body: is not valid JSON', { field: 'body' });
    default:
  }
  if (fe.statusCode === 400 && err instanceof SyntaxError) return new ApiError('validation_failed', 'body: is not valid JSON', { field: 'body' });
  // Fastify's other client errors (a Content-Length that does not match the body, …).
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) return new ApiError(fe.statusCode === 404 ? 'not_found' : 'validation_failed', fe.message);
  return undefined;
}

/** Maps any thrown error to a status and body; logs what was not expected. */
export function toErrorBody(err: unknown, req: FastifyRequest): { status: number; body: ErrorBody; retryAfter?: number } {
  const e = clientError(err);
  if (e) return { status: e.status, body: { code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) }, retryAfter: e.retryAfter };
  req.log.error({ err }, 'unexpected error');
  return { status: 500, body: { code: 'internal_error', message: 'Something went wrong on our side; it has been logged' } };
}

export function jsonErrorHandler(err: unknown, req: FastifyRequest, reply: FastifyReply): void {
  const { status, body, retryAfter } = toErrorBody(err, req);
  if (retryAfter) reply.header('retry-after', String(retryAfter));
  void reply.code(status).type('application/json; charset=utf-8').send({ error: body });
}

/** The response schema of the body jsonErrorHandler writes: `{error: {code, message, details?}}`. */
export const ApiErrorSchema = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: { code: { type: 'string' }, message: { type: 'string' }, details: { type: 'object', patternProperties: { '^.*$': {} } } },
      required: ['code', 'message'],
    },
  },
  required: ['error'],
} as const;
