// Tessera's own error vocabulary: a typed catalogue of stable codes, each with its HTTP status.
// The JSON APIs serialise an ApiError as {"error": {"code", "message", "details"?}}; the portal
// renders the message on the page; the OAuth endpoints have their own RFC 6749 errors.

export const ERROR_STATUS = {
  validation_failed: 400,
  invalid_phone_number: 400,
  unauthenticated: 401,
  invalid_credentials: 401,
  invalid_token: 401,
  token_expired: 401,
  pin_invalid: 400,
  webhook_validation_failed: 400,
  pin_expired: 400,
  pin_attempts_exceeded: 429,
  forbidden: 403,
  insufficient_permission: 403,
  /** The organisation requires two-factor authentication and the person has none. */
  two_factor_required: 403,
  phone_not_verified: 403,
  quota_exceeded: 403,
  not_found: 404,
  conflict: 409,
  email_taken: 409,
  phone_taken: 409,
  idempotency_key_reused: 422,
  /** Well-formed but not acceptable, field by field (details.errors: {field: [messages]}). */
  unprocessable: 422,
  payload_too_large: 413,
  uri_too_long: 414,
  unsupported_media_type: 415,
  headers_too_large: 431,
  rate_limited: 429,
  internal_error: 500,
  sms_delivery_failed: 502,
  /** An upstream identity provider could not be reached or answered nonsense. */
  upstream_unavailable: 502,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class ApiError extends Error {
  override name = 'ApiError';
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
    /** Seconds, for 429 answers. */
    readonly retryAfter?: number,
  ) {
    super(message);
    this.status = ERROR_STATUS[code];
    // Every 429 tells the client when to come back (RFC 6585 §4); one without would be a bug here.
    if (this.status === 429 && !(retryAfter && retryAfter > 0)) throw new TypeError(`ApiError ${code} needs a retryAfter`);
  }
}

export const notFound = (what: string): ApiError => new ApiError('not_found', `${what} not found`);
export const invalid = (field: string, message: string): ApiError =>
  new ApiError('validation_failed', `${field}: ${message}`, { field });

/** Trimmed text that must not be empty nor longer than `max` characters. */
export function requiredText(value: string, field: string, max: number): string {
  const v = value.trim();
  if (!v) throw invalid(field, 'must not be empty');
  if (v.length > max) throw invalid(field, `must be at most ${max} characters`);
  return v;
}

/**
 * Checks every field of an input before refusing it, so a form can show all its mistakes at
 * once: each check's validation failure is kept by field; done() throws one validation_failed
 * naming the first in `field` and all of them in `fields`.
 */
export class FieldChecks {
  private readonly problems: Record<string, string> = {};

  check<T>(run: () => T): T | undefined {
    try {
      return run();
    } catch (err) {
      if (!(err instanceof ApiError) || err.code !== 'validation_failed' || typeof err.details?.field !== 'string') throw err;
      const field = err.details.field;
      this.problems[field] ??= err.message.startsWith(`${field}: `) ? err.message.slice(field.length + 2) : err.message;
      return undefined;
    }
  }

  /** Throws if any check failed; after it, every checked value is defined. */
  done(): void {
    const [first] = Object.entries(this.problems);
    if (first) throw new ApiError('validation_failed', `${first[0]}: ${first[1]}`, { field: first[0], fields: { ...this.problems } });
  }
}
