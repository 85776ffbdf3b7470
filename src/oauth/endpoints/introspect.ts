// POST /oauth/introspect (RFC 7662), for resource servers registered as confidential connectors.
import type { FastifyInstance } from 'fastify';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Services } from '../../services.js';
import { ClientAuthFields, Param, oauthErrors } from './schemas.js';

const Introspection = Type.Object({
  active: Type.Boolean(), scope: Type.Optional(Type.String()), client_id: Type.Optional(Type.String()), sub: Type.Optional(Type.String()),
  token_type: Type.Optional(Type.String()), exp: Type.Optional(Type.Integer()), iat: Type.Optional(Type.Integer()), iss: Type.Optional(Type.String()),
  aud: Type.Optional(Type.Array(Type.String())), jti: Type.Optional(Type.String()),
});

export async function introspectEndpoint(app: FastifyInstance, services: Services): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  r.post('/oauth/introspect', {
    schema: {
      body: Type.Object({ token: Param, token_type_hint: Type.Optional(Param), ...ClientAuthFields }),
      response: { 200: Introspection, ...oauthErrors },
    },
  }, async (req, reply) => {
    const body = await services.oauth.introspect({ ...req.body, authorization: req.headers.authorization }, req.ip);
    void reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    return body;
  });
}
