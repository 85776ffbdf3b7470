// JSON Schemas shared by the OAuth endpoints.

export const Param = { type: 'string', maxLength: 4096 } as const;
export const OAuthErrorSchema = {
  type: 'object',
  properties: { error: { type: 'string' }, error_description: { type: 'string' } },
  required: ['error', 'error_description'],
} as const;
export const oauthErrors = { 400: OAuthErrorSchema, 401: OAuthErrorSchema, 403: OAuthErrorSchema, 429: OAuthErrorSchema, 500: OAuthErrorSchema };

/** Client authentication in the form body (client_secret_post, or none with client_id only); both optional, never list them in `required`. */
export const ClientAuthFields = {
  client_id: { type: 'string', maxLength: 200 },
  client_secret: { type: 'string', maxLength: 500 },
} as const;
