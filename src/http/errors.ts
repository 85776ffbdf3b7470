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

/** Maps any thrown error to a status and body; logs what was not expected. */
export function toErrorBody(err: unknown, req: FastifyRequest): { status: number; body: ErrorBody; retryAfter?: number } {
  if (err instanceof ApiError) {
    return { status: err.status, body: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) }, retryAfter: err.retryAfter };
  }
  const fe = err as FastifyError;
  if (fe.validation) {
    const { field, message } = describeValidation(fe);
    return { status: 400, body: { code: 'validation_failed', message, details: { field } } };
  }
  if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return { status: 415, body: { code: 'unsupported_media_type', message: 'Send JSON (Content-Type: application/json)' } };
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return { status: 413, body: { code: 'payload_too_large', message: 'The request body is too large' } };
  if (fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || (fe.statusCode === 400 && err instanceof SyntaxError)) {
    return { status: 400, body: { code: 'validation_failed', message: 'body: is not valid JSON', details: { field: 'body' } } };
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return { status: fe.statusCode, body: { code: 'validation_failed', message: fe.message } };
  }
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
