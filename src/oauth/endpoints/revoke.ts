// POST /oauth/revoke (RFC 7009).
import type { FastifyInstance } from 'fastify';
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { Services } from '../../services.js';
import { ClientAuthFields, Param, oauthErrors } from './schemas.js';

export async function revokeEndpoint(app: FastifyInstance, services: Services): Promise<void> {
  const r = app.withTypeProvider<JsonSchemaToTsProvider>();
  r.post('/oauth/revoke', {
    schema: {
      body: { type: 'object', properties: { token: Param, token_type_hint: Param, ...ClientAuthFields }, required: ['token'] },
      response: { 200: { type: 'string' }, ...oauthErrors },
    },
  }, async (req, reply) => {
    await services.oauth.revoke({ ...req.body, authorization: req.headers.authorization }, req.ip);
    // §2.2: 200 whether or not the token was valid; the body is empty (the client ignores it).
    return reply.code(200).header('cache-control', 'no-store').send('');
  });
}
