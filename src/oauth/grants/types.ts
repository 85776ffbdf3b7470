// The contract every grant module fulfils (like node-oidc-provider's lib/actions/grants/*):
// the token endpoint authenticates the client and checks it may use the grant, then dispatches.
import type { Deps } from '../../deps.js';
import type { Client } from '../client-auth.js';
import type { GrantType } from '../client-metadata.js';
import { InvalidRequest } from '../errors.js';
import type { TokenResponse } from '../tokens.js';

export type TokenParams = Record<string, string | undefined>;

export interface Grant {
  grantType: GrantType;
  handler(deps: Deps, client: Client, params: TokenParams): Promise<TokenResponse>;
}

export function required(params: TokenParams, name: string): string {
  const v = params[name];
  if (v === undefined || v === '') throw new InvalidRequest(`${name}: is required`);
  return v;
}
