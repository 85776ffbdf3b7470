// Shared set-up for the platform suites: an owner organisation with a platform app (an OAuth
// connector) and a platform registered through the portal's upload form, private access tokens
// made on the portal's page, and the white-label sign-up driven over HTTP.
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { PortalClient } from '../helpers/portal.js';
import { developer, REDIRECT, type OAuthClientReg } from '../oauth/helpers.js';

/** The smallest valid PNG (1×1, transparent). */
export const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

export interface PlatformSetup { owner: PortalClient; orgId: string; app: OAuthClientReg; platformId: string; name: string; register: (name: string) => Promise<OAuthClientReg> }

let phones = 0;

export async function platformOwner(app: FastifyInstance, name = 'acme', email = `${name}-owner@example.com`, redirectUri = REDIRECT): Promise<PlatformSetup> {
  const { dev, orgId, register } = await developer(app, email, `+1415555${String(2000 + phones++).padStart(4, '0')}`);
  const client = await register(`${name} app`, { redirectUris: [redirectUri] });
  await dev.get(`/orgs/${orgId}/platforms`);
  const res = await dev.upload(`/orgs/${orgId}/platforms`, {
    name, display_name: `${name[0]!.toUpperCase()}${name.slice(1)} Print`, primary_color: '#d9480f', support_contact: `help@${name}.example`, connector_id: client.id, logo_url: '',
  }, { field: 'logo', name: 'logo.png', type: 'image/png', bytes: PNG });
  assert.equal(res.statusCode, 303, res.body.slice(0, 500));
  const platformId = /\/platforms\/([0-9a-f-]{36})/.exec(res.headers.location as string)![1]!;
  return { owner: dev, orgId, app: client, platformId, name, register };
}

/** Makes a private access token on the portal's page and reads it from the one-time message. */
export async function privateToken(owner: PortalClient, orgId: string, scopes: string[], name = 'Integration', lifetimeDays = 365): Promise<string> {
  await owner.get(`/orgs/${orgId}/private-tokens`);
  const res = await owner.post(`/orgs/${orgId}/private-tokens`, { name, scopes, lifetime_days: String(lifetimeDays) });
  assert.equal(res.statusCode, 303, res.body.slice(0, 500));
  const page = await owner.follow(res);
  return /id="private-token">([^<]+)</.exec(page.body)![1]!;
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
