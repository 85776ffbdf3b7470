// JSON Schema fragments shared by the route schemas of several surfaces.

/**
 * A token Tessera made (a JWT, or a prefixed refresh token): only base64url characters, dots and
 * underscores, so its JSON string needs no escaping. `format: 'unsafe'` tells the response
 * serializer (fast-json-stringify) to write it as it is instead of testing each of its several
 * hundred characters for something to escape, on every token response.
 */
export const TokenString = { type: 'string', format: 'unsafe' } as const;
