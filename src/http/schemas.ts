// JSON Schema fragments shared by the route schemas of several surfaces.

/**
 * A token Tessera made (a JWT, or a prefixed refresh token): only base64url characters, dots and
 * underscores, so its JSON string needs no escaping. `format: 'unsafe'` tells the response
 * serializer (fast-json-stringify) to write it as it is instead of testing each of its several
 * hundred characters for something to escape, on every token response.
 */
export const TokenString = { type: 'string', format: 'unsafe' } as const;

/** A public JSON Web Key, and the set /.well-known/jwks.json and /api/v1/jwt_public_keys answer. */
const Jwk = {
  type: 'object',
  properties: {
    kty: { type: 'string' }, kid: { type: 'string' }, alg: { type: 'string' }, use: { type: 'string' },
    crv: { type: 'string' }, x: { type: 'string' }, y: { type: 'string' },
    n: { type: 'string' }, e: { type: 'string' },
  },
  required: ['kty', 'kid'],
} as const;
export const Jwks = { type: 'object', properties: { keys: { type: 'array', items: Jwk } }, required: ['keys'] } as const;
