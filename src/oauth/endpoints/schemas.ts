// TypeBox shapes shared by the OAuth endpoints.
import { Type } from '@fastify/type-provider-typebox';

export const Param = Type.String({ maxLength: 4096 });
export const OAuthErrorSchema = Type.Object({ error: Type.String(), error_description: Type.String() });
export const oauthErrors = { 400: OAuthErrorSchema, 401: OAuthErrorSchema, 403: OAuthErrorSchema, 429: OAuthErrorSchema, 500: OAuthErrorSchema };

/** Client authentication in the form body (client_secret_post, or none with client_id only). */
export const ClientAuthFields = {
  client_id: Type.Optional(Type.String({ maxLength: 200 })),
  client_secret: Type.Optional(Type.String({ maxLength: 500 })),
};
