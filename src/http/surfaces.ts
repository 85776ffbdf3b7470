// Tessera answers on several surfaces, each with its own error shape: the JSON APIs
// ({error: {code, message, details}}), Kandy's /v1.2 envelope ({result, status, message}), the
// OAuth client endpoints (RFC 6749 {error, error_description}), Zaikio's directory API
// ({errors: [...]}) and the HTML pages (portal, OAuth sign-in). A route's own scope serialises its errors; this module says which surface a path
// belongs to for what reaches no route: an unknown path, a URL Fastify cannot decode, a route
// parameter over the router's limit, or request headers Node refuses before Fastify sees them.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Socket } from 'node:net';
import { ApiError } from '../lib/errors.js';

export type Surface = 'api' | 'kandy' | 'oauth' | 'pages' | 'zaikio';

/** The Zaikio-compatible directory resources under /api/v1 (the rest of /api/v1 is the native Kandy API). */
const ZAIKIO = /^\/api\/v1\/(jwt_public_keys|revoked_access_tokens|person|organization|platforms)(?=[/?]|$)/;

/** A platform's /{platform}/oauth/…, as the path under the platform. */
const WHITE_LABEL_OAUTH = /^\/[^/?]*(\/oauth\/.*)$/;

/** The surface of a request path (with or without a query string). */
export function surfaceOf(url: string): Surface {
  if (url.startsWith('/v1.2/') || url === '/v1.2' || url.startsWith('/v1.2?')) return 'kandy';
  if (ZAIKIO.test(url)) return 'zaikio';
  if (url.startsWith('/v1/') || url.startsWith('/api/') || url.startsWith('/healthz') || url.startsWith('/readyz') || url === '/metrics' || url === '/openapi.json' || url === '/docs' || url.startsWith('/docs/')) return 'api';
  // The authorization and consent steps are pages a person sees; the rest of /oauth is for
  // clients, under a white-label platform's /{platform}/oauth/ too.
  const oauthPath = WHITE_LABEL_OAUTH.exec(url)?.[1] ?? url;
  if (oauthPath.startsWith('/oauth/authorize') || oauthPath.startsWith('/oauth/consent') || oauthPath.startsWith('/oauth/platform/')) return 'pages';
  if (oauthPath.startsWith('/oauth/') || url.startsWith('/.well-known/')) return 'oauth';
  return 'pages';
}

/**
 * Form posts (the pages and the OAuth endpoints, RFC 6749 §3.2) carry only strings, so their
 * bodies are converted like query strings (a single checkbox value becomes a one-item list); a
 * JSON body is what the client meant and is never converted.
 */
export const bodiesAreForms = (surface: Surface): boolean => surface === 'pages' || surface === 'oauth';

export type ErrorWriter = (err: unknown, req: FastifyRequest, reply: FastifyReply) => unknown;

/** One error handler that hands each error to the writer of its request's surface. */
export function bySurface(writers: Record<Surface, ErrorWriter>): ErrorWriter {
  return (err, req, reply) => writers[surfaceOf(req.url)](err, req, reply);
}

/** What Fastify's router raises before any route runs, as Tessera's own errors. */
export function routerError(err: { code?: string }, req: FastifyRequest): ApiError {
  const path = req.url.split('?')[0] ?? '';
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') return new ApiError('uri_too_long', 'path: a path segment is longer than any identifier Tessera issues');
  if (err.code === 'FST_ERR_BAD_URL') return new ApiError('validation_failed', 'path: is not a valid URL (a percent-encoding is broken)', { field: 'path' });
  return new ApiError('not_found', `No route for ${req.method} ${path}`);
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };

/**
 * Node's HTTP parser refuses a request before Fastify sees it (headers over the limit, a request
 * line it cannot parse, a client too slow to send its headers). What the client sent so far tells
 * the path, so the answer still takes that surface's shape.
 */
export function clientErrorAnswer(err: { code?: string; rawPacket?: unknown }, renderPage: (status: number, message: string) => string): string {
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const message = status === 431 ? 'The request headers are too large' : status === 408 ? 'The request took too long to arrive' : 'The request could not be parsed as HTTP';
  const raw = Buffer.isBuffer(err.rawPacket) ? err.rawPacket : Buffer.alloc(0);
  const firstLine = raw.subarray(0, 2048).toString('latin1').split('\r\n', 1)[0] ?? '';
  const path = /^[A-Z]+ (\S+)/.exec(firstLine)?.[1] ?? '/';
  let type = 'application/json; charset=utf-8';
  let body: string;
  switch (surfaceOf(path)) {
    case 'api': body = JSON.stringify({ error: { code: status === 431 ? 'headers_too_large' : 'validation_failed', message } }); break;
    case 'kandy': body = JSON.stringify({ result: null, status: 4, message }); break;
    case 'oauth': body = JSON.stringify({ error: 'invalid_request', error_description: message }); break;
    case 'zaikio': body = JSON.stringify({ errors: [status === 431 ? 'headers_too_large' : 'invalid_request'] }); break;
    default: type = 'text/html; charset=utf-8'; body = renderPage(status, message);
  }
  return `HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\nContent-Type: ${type}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${body}`;
}

/** Fastify's clientErrorHandler, answering in the surface's shape (see clientErrorAnswer). */
export function clientErrorHandler(renderPage: (status: number, message: string) => string) {
  return (err: Error & { code?: string; rawPacket?: unknown }, socket: Socket): void => {
    // A reset connection has nobody left to answer.
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    if (socket.writable) socket.write(clientErrorAnswer(err, renderPage));
    socket.destroy(err);
  };
}
