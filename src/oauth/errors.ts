// OAuth errors, one class per error code of RFC 6749 §4.1.2.1 / §5.2 (plus RFC 7009 §2.2.1 and
// OpenID Connect Core §3.1.2.6), serialised by one function to {error, error_description}.
// Anything that is not an OAuthError becomes server_error without internals.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { clientError } from '../http/errors.js';

export abstract class OAuthError extends Error {
  abstract readonly error: string;
  readonly status: number = 400;
  /** Seconds, for 429 answers. */
  retryAfter?: number;
  constructor(readonly description: string) {
    super(description);
  }
}

export class InvalidRequest extends OAuthError {
  readonly error = 'invalid_request';
  override readonly status: number;
  /** 400, or the HTTP status that says more: 404 unknown path, 413 too large, 415 wrong media type. */
  constructor(description: string, status = 400) {
    super(description);
    this.status = status;
  }
}
/** RFC 6749 §5.2: 401, with WWW-Authenticate when the client tried HTTP authentication. */
export class InvalidClient extends OAuthError {
  readonly error = 'invalid_client';
  override readonly status: number;
  constructor(description: string, readonly usedBasic = false, status = 401) {
    super(description);
    this.status = status;
  }
}
export class InvalidGrant extends OAuthError { readonly error = 'invalid_grant'; }
export class UnauthorizedClient extends OAuthError { readonly error = 'unauthorized_client'; }
export class UnsupportedGrantType extends OAuthError { readonly error = 'unsupported_grant_type'; }
export class UnsupportedResponseType extends OAuthError { readonly error = 'unsupported_response_type'; }
export class InvalidScope extends OAuthError { readonly error = 'invalid_scope'; }
export class AccessDenied extends OAuthError { readonly error = 'access_denied'; }
export class ServerError extends OAuthError { readonly error = 'server_error'; override readonly status = 500; }
export class UnsupportedTokenType extends OAuthError { readonly error = 'unsupported_token_type'; }
export class LoginRequired extends OAuthError { readonly error = 'login_required'; }
export class ConsentRequired extends OAuthError { readonly error = 'consent_required'; }
/** RFC 6750 §3.1, for the userinfo endpoint. */
export class InvalidToken extends OAuthError { readonly error = 'invalid_token'; override readonly status = 401; }
export class InsufficientScope extends OAuthError { readonly error = 'insufficient_scope'; override readonly status = 403; }

export interface OAuthErrorBody { error: string; error_description: string }

export function toOAuthError(err: unknown, req: FastifyRequest): OAuthError {
  if (err instanceof OAuthError) return err;
  const e = clientError(err, 'the parameters as application/x-www-form-urlencoded');
  if (e) {
    const invalid = new InvalidRequest(e.message, e.status);
    if (e.retryAfter) invalid.retryAfter = e.retryAfter;
    return invalid;
  }
  req.log.error({ err }, 'unexpected error in an OAuth endpoint');
  return new ServerError('the authorization server met an unexpected condition; it has been logged');
}

/** The one serializer for the token, revocation, introspection and userinfo endpoints. */
export function oauthErrorHandler(err: unknown, req: FastifyRequest, reply: FastifyReply): void {
  const e = toOAuthError(err, req);
  // RFC 6749 §5.2: a client that tried HTTP Basic gets the scheme it should use back.
  if (e instanceof InvalidClient && e.usedBasic && e.status === 401) void reply.header('www-authenticate', 'Basic realm="tessera", charset="UTF-8"');
  if (e instanceof InvalidToken || e instanceof InsufficientScope) {
    void reply.header('www-authenticate', `Bearer realm="tessera", error="${e.error}", error_description="${e.description.replace(/["\\]/g, '')}"`);
  }
  if (e.retryAfter) void reply.header('retry-after', String(e.retryAfter));
  void reply.code(e.status).header('cache-control', 'no-store').header('pragma', 'no-cache')
    .type('application/json; charset=utf-8').send({ error: e.error, error_description: e.description } satisfies OAuthErrorBody);
}
