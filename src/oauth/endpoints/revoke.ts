// POST /oauth/revoke (RFC 7009).
import type { FastifyInstance } from 'fastify';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Services } from '../../services.js';
import { ClientAuthFields, Param, oauthErrors } from './schemas.js';

export async function revokeEndpoint(app: FastifyInstance, services: Services): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  r.post('/oauth/revoke', {
    schema: {
      body: Type.Object({ token: Param, token_type_hint: Type.Optional(Param), ...ClientAuthFields }),
      response: { 200: Type.String(), ...oauthErrors },
    },
  }, async (req, reply) => {
    await services.oauth.revoke({ ...req.body, authorization: req.headers.authorization }, req.ip);
    // §2.2: 200 whether or not the token was valid; the body is empty (the client ignores it).
    return reply.code(200).header('cache-control', 'no-store').send('');
  });
}
