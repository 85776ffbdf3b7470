// No string input may carry a NUL character (U+0000). PostgreSQL cannot store one in text and
// fails the whole statement, so without this check a NUL anywhere in a body, query string or
// route parameter would end in a 500 (or, on SQLite, in a value other clients choke on).
//
// One hook for every surface. It raises an error shaped like Fastify's own schema-validation
// errors (`validation` + `validationContext`), because every error serializer already turns
// those into its own 400: `{error: {code: 'validation_failed', …}}` for the JSON APIs,
// `invalid_request` for the OAuth endpoints, the `/v1.2` envelope with status 4 for Kandy, an
// HTML page for the portal. It runs as a preHandler, after the portal's CSRF check (a forged form
// is still refused as forged) and after schema validation, and walks only the parsed values.
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';

export const NUL_MESSAGE = 'must not contain NUL characters';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route checks NUL characters itself, to answer them in a protocol-specific way (the
     * OAuth authorization endpoint reports them to the client's redirect URI, RFC 6749 §4.1.2.1).
     */
    checksNulItself?: boolean;
  }
}

type Where = 'body' | 'querystring' | 'params';

/** JSON Pointer (RFC 6901) of a property, as Ajv writes instancePath. */
const pointer = (key: string): string => `/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;

/**
 * The JSON Pointer of the first string that contains a NUL, or undefined. Iterative (an explicit
 * stack), so a deeply nested body cannot overflow the call stack.
 */
export function findNul(value: unknown): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? '' : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  const stack: [unknown, string][] = [[value, '']];
  while (stack.length) {
    const [node, path] = stack.pop()!;
    if (typeof node === 'string') {
      if (node.includes('\u0000')) return path;
    } else if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) stack.push([node[i], `${path}/${i}`]);
    } else if (node !== null && typeof node === 'object') {
      const entries = Object.entries(node);
      for (let i = entries.length - 1; i >= 0; i--) stack.push([entries[i]![1], `${path}${pointer(entries[i]![0])}`]);
    }
  }
  return undefined;
}

/** A 400 in the shape of a Fastify validation error, so each scope's serializer answers it its way. */
export class NulCharacterError extends Error {
  readonly statusCode = 400;
  readonly code = 'FST_ERR_VALIDATION';
  readonly validation: { instancePath: string; keyword: string; message: string; params: Record<string, never> }[];
  constructor(readonly validationContext: Where, instancePath: string) {
    super(`${validationContext}${instancePath}: ${NUL_MESSAGE}`);
    this.validation = [{ instancePath, keyword: 'noNul', message: NUL_MESSAGE, params: {} }];
  }
}

/** Whether any string in the value holds a NUL: the check every request pays, building no paths. */
function hasNul(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (value === null || typeof value !== 'object') return false;
  // Deep bodies go to findNul, whose explicit stack cannot overflow.
  if (depth > 32) return findNul(value) !== undefined;
  if (Array.isArray(value)) return value.some((v) => hasNul(v, depth + 1));
  for (const key in value) if (hasNul((value as Record<string, unknown>)[key], depth + 1)) return true;
  return false;
}

/** The first NUL in the request's parsed inputs, as an error; undefined when there is none. */
export function nulError(req: FastifyRequest): NulCharacterError | undefined {
  if (!hasNul(req.params) && !hasNul(req.query) && !hasNul(req.body)) return undefined;
  for (const [where, value] of [['params', req.params], ['querystring', req.query], ['body', req.body]] as const) {
    const at = findNul(value);
    if (at !== undefined) return new NulCharacterError(where, at);
  }
  return undefined;
}

/** Registered once on the root instance (app.ts), so every plugin's routes inherit it. */
export function refuseNulCharacters(req: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void {
  const error = nulError(req);
  // The route's config is read only when there is a NUL: Fastify builds `routeOptions` afresh on
  // every read, and nearly every request has none.
  done(error && !req.routeOptions.config.checksNulItself ? error : undefined);
}
