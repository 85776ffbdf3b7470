// The token endpoint's dispatch table.
import type { Grant } from './types.js';
import { authorizationCode } from './authorization-code.js';
import { refreshToken } from './refresh-token.js';
import { clientCredentials } from './client-credentials.js';

export const GRANTS: ReadonlyMap<string, Grant> = new Map([authorizationCode, refreshToken, clientCredentials].map((g) => [g.grantType, g]));
