// A platform's technical name is the first segment of its white-label URLs (/{name}/oauth/…), so
// it must never shadow one of Tessera's own first path segments. RESERVED lists them; a test
// (test/platforms/names.test.ts) checks it against every route the app registers, so a new
// top-level route cannot be forgotten here.
import { invalid } from '../lib/errors.js';

export const PLATFORM_NAME = /^[a-z][a-z0-9_-]{1,38}[a-z0-9]$/;

/** Tessera's own first path segments, and a few kept for what is planned (docs, metrics). */
export const RESERVED = new Set([
  'oauth', 'api', 'v1', 'v1.2', '.well-known', 'healthz', 'readyz', 'assets', 'favicon.svg', 'favicon.ico', 'robots.txt',
  'login', 'signup', 'logout', 'dashboard', 'phones', 'orgs', 'groups', 'connectors', 'projects', 'consents', 'outbox',
  'platforms', 'memberships', 'account', 'email', 'password', 'mail-outbox', 'settings', 'admin', 'docs', 'openapi.json', 'metrics', 'static', 'help', 'status', 'tessera',
]);

export function checkPlatformName(raw: string): string {
  const name = raw.trim();
  if (!PLATFORM_NAME.test(name)) {
    throw invalid('name', 'must be 3 to 40 lowercase letters, digits, - or _, starting with a letter and ending with a letter or digit');
  }
  if (RESERVED.has(name)) throw invalid('name', `"${name}" is a word Tessera's own addresses use; pick another`);
  return name;
}
