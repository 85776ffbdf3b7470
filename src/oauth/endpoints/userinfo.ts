// GET/POST /oauth/userinfo (OpenID Connect Core §5.3), with the access token as a Bearer
// credential (RFC 6750 §2.1).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type, type TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Services } from '../../services.js';
import { oauthErrors } from './schemas.js';

const UserInfo = Type.Object({
  sub: Type.String(), name: Type.Optional(Type.String()), email: Type.Optional(Type.String()), email_verified: Type.Optional(Type.Boolean()),
  phone_number: Type.Optional(Type.String()), phone_number_verified: Type.Optional(Type.Boolean()),
});

const bearer = (req: FastifyRequest): string | undefined => {
  const auth = req.headers.authorization;
  return auth && /^bearer /i.test(auth) ? auth.slice(7).trim() : undefined;
};

export async function userinfoEndpoint(app: FastifyInstance, services: Services): Promise<void> {
  const r = app.withTypeProvider<TypeBoxTypeProvider>();
  for (const method of ['GET', 'POST'] as const) {
    r.route({
      method, url: '/oauth/userinfo', schema: { response: { 200: UserInfo, ...oauthErrors } },
      handler: async (req, reply) => {
        const body = await services.oauth.userinfo(bearer(req));
        void reply.header('cache-control', 'no-store');
        return body;
      },
    });
  }
}
