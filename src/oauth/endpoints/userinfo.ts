// GET/POST /oauth/userinfo (OpenID Connect Core §5.3), with the access token as a Bearer
// credential (RFC 6750 §2.1).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { JsonSchemaToTsProvider } from '@fastify/type-provider-json-schema-to-ts';
import type { Services } from '../../services.js';
import { oauthErrors } from './schemas.js';

const UserInfo = {
  type: 'object',
  properties: {
    sub: { type: 'string' }, name: { type: 'string' }, email: { type: 'string' }, email_verified: { type: 'boolean' },
    phone_number: { type: 'string' }, phone_number_verified: { type: 'boolean' },
  },
  required: ['sub'],
} as const;

const bearer = (req: FastifyRequest): string | undefined => {
  const auth = req.headers.authorization;
  return auth && /^bearer /i.test(auth) ? auth.slice(7).trim() : undefined;
};

export async function userinfoEndpoint(app: FastifyInstance, services: Services): Promise<void> {
  const r = app.withTypeProvider<JsonSchemaToTsProvider>();
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
