// POST /oauth/introspect (RFC 7662), for resource servers registered as confidential connectors.
import type { FastifyInstance } from 'fastify';
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { Services } from '../../services.js';
import { ClientAuthFields, Param, oauthErrors } from './schemas.js';

const Introspection = {
  type: 'object',
  properties: {
    active: { type: 'boolean' }, scope: { type: 'string' }, client_id: { type: 'string' }, sub: { type: 'string' },
    token_type: { type: 'string' }, exp: { type: 'integer' }, iat: { type: 'integer' }, iss: { type: 'string' },
    aud: { type: 'array', items: { type: 'string' } }, jti: { type: 'string' },
  },
  required: ['active'],
} as const;

export async function introspectEndpoint(app: FastifyInstance, services: Services): Promise<void> {
  const r = app.withTypeProvider<JsonSchemaToTsProvider>();
  r.post('/oauth/introspect', {
    schema: {
      body: { type: 'object', properties: { token: Param, token_type_hint: Param, ...ClientAuthFields }, required: ['token'] },
      response: { 200: Introspection, ...oauthErrors },
    },
  }, async (req, reply) => {
    const body = await services.oauth.introspect({ ...req.body, authorization: req.headers.authorization }, req.ip);
    void reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    return body;
  });
}
