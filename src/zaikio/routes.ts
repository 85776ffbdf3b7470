// The Zaikio-compatible directory surface under /api/v1 (docs/zaikio.md): what a resource server
// written as Zaikio's jwt_auth needs — the public keys that verify access tokens, and the list of
// tokens revoked before their expiry — and revoking the calling token. Errors: zaikio/errors.ts.
import type { FastifyInstance } from 'fastify';
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { Services } from '../services.js';
import { zaikioErrorHandler } from './errors.js';
import { bearerToken } from './bearer.js';
import { listRevokedAccessTokens, revokeAccessToken } from '../oauth/queries.js';

const Errors = {
  type: 'object',
  properties: { errors: { anyOf: [{ type: 'array', items: { type: 'string' } }, { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } }] } },
  required: ['errors'],
} as const;
const errors = { 401: Errors, 403: Errors };

export async function zaikioRoutes(app: FastifyInstance, services: Services): Promise<void> {
  const r = app.withTypeProvider<JsonSchemaToTsProvider>();
  const deps = services.deps;
  r.setErrorHandler(zaikioErrorHandler);

  // The same keys as /.well-known/jwks.json: clients cache them for an hour and try each.
  r.get('/api/v1/jwt_public_keys', async (_req, reply) => {
    void reply.header('cache-control', 'public, max-age=300');
    return deps.keys.publishedJwks();
  });

  // Access tokens revoked before they expire; a token drops off the list once it has expired
  // anyway (db/retention.ts), so the list stays as short as the tokens' lifetime allows.
  r.get('/api/v1/revoked_access_tokens', {
    schema: { response: { 200: { type: 'object', properties: { revoked_token_ids: { type: 'array', items: { type: 'string' } } }, required: ['revoked_token_ids'] } } },
  }, async (_req, reply) => {
    void reply.header('cache-control', 'no-store');
    return { revoked_token_ids: await listRevokedAccessTokens(deps.db, deps.clock.now()) };
  });

  // Revokes the calling token (a client signing a person out, or giving up a private token).
  r.post('/api/v1/revoked_access_tokens', {
    schema: { response: { 201: { type: 'object', properties: { access_token_id: { type: 'string' } }, required: ['access_token_id'] }, ...errors } },
  }, async (req, reply) => {
    const token = await bearerToken(deps, req);
    await revokeAccessToken(deps.db, token.jti, token.exp * 1000);
    return reply.code(201).send({ access_token_id: token.jti });
  });
}
