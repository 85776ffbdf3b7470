// Shared set-up for the platform suites: an owner organisation with a platform app (an OAuth
// connector) and a platform registered through the portal's upload form, private access tokens
// made on the portal's page, and the white-label sign-up driven over HTTP.
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { PortalClient } from '../helpers/portal.js';
import { basic, developer, pkce, REDIRECT, tokenRequest, type OAuthClientReg } from '../oauth/helpers.js';

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

export interface SignedUpMember { person: PortalClient; tokens: { access_token: string; refresh_token: string; bearer: { id: string; type: string }; scope: string } }

/**
 * The seed's sign-up over HTTP: the platform's authorize URL with prompt=signup, the white-label
 * form, the redirect with a code, and the platform app's exchange at /{platform}/oauth/access_token.
 */
export async function signUpMember(app: FastifyInstance, platform: PlatformSetup, who: { name: string; email: string }, scope = 'directory.platform_membership.rw directory.person.r'): Promise<SignedUpMember> {
  const { verifier, challenge } = pkce();
  const person = new PortalClient(app);
  const start = await person.get(`/${platform.name}/oauth/authorize?${new URLSearchParams({
    client_id: platform.app.id, redirect_uri: REDIRECT, scope, code_challenge: challenge, code_challenge_method: 'S256', response_type: 'code', prompt: 'signup',
  }).toString()}`);
  assert.equal(start.statusCode, 303);
  const form = await person.get(start.headers.location as string);
  const next = /name="next" value="([^"]*)"/.exec(form.body)![1]!.replace(/&amp;/g, '&');
  const created = await person.post(`/${platform.name}/signup`, { name: who.name, email: who.email, password: 'correct horse battery', next });
  assert.equal(created.statusCode, 303, created.body.slice(0, 300));
  const code = new URL((await person.get(created.headers.location as string)).headers.location as string).searchParams.get('code')!;
  const exchanged = await tokenRequest(app, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier },
    { authorization: basic(platform.app.id, platform.app.secret) }, `/${platform.name}/oauth/access_token`);
  assert.equal(exchanged.statusCode, 200, exchanged.body);
  return { person, tokens: exchanged.json() };
}
