// What a directory request may do with its token, in Zaikio's order of checks: the token must
// act for the right kind of bearer (a person's resource needs a person: else 403
// unpermitted_subject), then carry a scope of the right family and permission (`r` reads, `w`
// writes; else 403 unpermitted_scope).
import { ApiError } from '../lib/errors.js';
import type { ActiveAccessToken } from '../oauth/tokens.js';
import { allowsDirectory, type DirectoryFamily } from '../oauth/scopes.js';

export function requireAccess(token: ActiveAccessToken, subject: 'Person' | 'Organization', family: DirectoryFamily, need: 'r' | 'w'): string {
  if (token.bearer.type !== subject) throw new ApiError('forbidden', `the token acts for a ${token.bearer.type}; this resource needs a ${subject}`);
  if (!allowsDirectory(token.scope, family, need, token.bearer)) throw new ApiError('insufficient_permission', `the token lacks directory.${family}.${need}`);
  return token.bearer.id;
}
