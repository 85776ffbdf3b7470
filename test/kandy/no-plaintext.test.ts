// After the whole Kandy flow (account secret, projects, every kind of token, users with given and
// generated passwords, rotations) no column of any table and no log line holds a plaintext
// secret, token or password, nor the random part of one without its prefix. The stored hashes are
// checked to be there, so the scan cannot pass by scanning nothing.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { LogCapture, createTestApp, type TestApp } from '../helpers/app.js';
import { dumpAllTables } from '../helpers/db.js';
import { PortalClient } from '../helpers/portal.js';
import { sha256 } from '../../src/lib/hash.js';
import { createUser } from './setup.js';

let t: TestApp;
const log = new LogCapture();
before(async () => {
  t = await createTestApp({}, {}, { logLevel: 'debug', logStream: log.stream });
});
after(async () => { await t.close(); });

const ok = (res: LightMyRequestResponse, status = 200) => {
  assert.equal(res.statusCode, status, res.body);
  return res.json();
};
const secretOnPage = (body: string, id: string): string => {
  const m = new RegExp(`id="${id}">([^<]+)<`).exec(body);
  assert.ok(m, `no #${id} on the page`);
  return m[1]!;
};

test('no table and no log line holds a plaintext Kandy credential after the whole flow', async () => {
  const secrets: Record<string, string> = {};
  const person = new PortalClient(t.app);
  await person.signup('kandy-scan@example.com', 'Kandy Scan');
  const orgId = await person.createOrg('Scan Org');

  // Account: key and secret from the portal, then an account token (query string and native).
  await person.get(`/projects?org=${orgId}`);
  const generated = await person.follow(await person.post('/projects/account-secret', { orgId }));
  const accountKey = secretOnPage((await person.get(`/projects?org=${orgId}`)).body, 'account-key');
  secrets['account secret'] = secretOnPage(generated.body, 'account-secret');
  secrets['account token'] = ok(await t.app.inject({ url: `/v1.2/accounts/accesstokens?key=${accountKey}&account_api_secret=${secrets['account secret']}` })).result.account_access_token;
  secrets['native account token'] = ok(await t.app.inject({ method: 'POST', url: '/api/v1/account/access-tokens', payload: { apiKey: accountKey, apiSecret: secrets['account secret'] } }), 201).accessToken;

  // Projects: one over the Kandy API, one in the portal; one of them rotated over the native API.
  const viaApi = ok(await t.app.inject({ method: 'POST', url: `/v1.2/accounts/domains?key=${secrets['account token']}`, payload: { domain_name: 'scan.example.com' } })).result;
  secrets['project secret (API)'] = viaApi.domain_api_secret;
  const viaPortal = await person.follow(await person.post('/projects', { orgId, domainName: 'portal-scan.example.com', projectName: 'Portal scan' }));
  assert.equal(viaPortal.statusCode, 200);
  secrets['project secret (portal)'] = secretOnPage(viaPortal.body, 'project-secret');
  const portalKey = secretOnPage(viaPortal.body, 'project-key');
  const portalProject = ok(await t.app.inject({ url: '/api/v1/projects', headers: { authorization: `Bearer ${secrets['native account token']}` } }))
    .projects.find((p: { domainName: string }) => p.domainName === 'portal-scan.example.com');
  secrets['rotated project secret'] = ok(await t.app.inject({ method: 'POST', url: `/api/v1/projects/${portalProject.id}/secret`, headers: { authorization: `Bearer ${secrets['native account token']}` } })).apiSecret;

  const domainToken: string = ok(await t.app.inject({ url: `/v1.2/domains/accesstokens?key=${viaApi.domain_api_key}&domain_api_secret=${secrets['project secret (API)']}` })).result.domain_access_token;
  secrets['domain token'] = domainToken;
  secrets['native project token'] = ok(await t.app.inject({ method: 'POST', url: '/api/v1/project/access-tokens', payload: { apiKey: portalKey, apiSecret: secrets['rotated project secret'] } }), 201).accessToken;

  // Users with given and generated passwords, on both APIs.
  const given = ok(await createUser(t.app, domainToken, { user_id: 'given', user_country_code: '+1', user_password: 'Plain7text4scan' })).result;
  const made = ok(await createUser(t.app, domainToken, { user_id: 'made', user_country_code: 'US' })).result;
  const nativeHeaders = { authorization: `Bearer ${secrets['native project token']}` };
  const nativeGiven = ok(await t.app.inject({ method: 'POST', url: '/api/v1/project/users', headers: nativeHeaders, payload: { userId: 'ngiven', countryCode: '+44', password: 'Other5pass8word' } }), 201);
  const nativeMade = ok(await t.app.inject({ method: 'POST', url: '/api/v1/project/users', headers: nativeHeaders, payload: { userId: 'nmade', countryCode: 'GB' } }), 201);
  Object.assign(secrets, {
    'given password': given.user_password, 'generated password': made.user_password,
    'native given password': nativeGiven.password, 'native generated password': nativeMade.password,
    'user secret (given)': given.user_api_secret, 'user secret (made)': made.user_api_secret,
    'native user secret (given)': nativeGiven.apiSecret, 'native user secret (made)': nativeMade.apiSecret,
  });
  assert.equal(secrets['given password'], 'Plain7text4scan');

  // User tokens in every way there is.
  secrets['user token (project key)'] = ok(await t.app.inject({ url: `/v1.2/domains/users/accesstokens?key=${viaApi.domain_api_key}&domain_api_secret=${secrets['project secret (API)']}&user_id=given` })).result.user_access_token;
  secrets['user token (user key)'] = ok(await t.app.inject({ url: `/v1.2/domains/users/accesstokens?key=${made.user_api_key}&user_api_secret=${made.user_api_secret}` })).result.user_access_token;
  secrets['native user token (project)'] = ok(await t.app.inject({ method: 'POST', url: '/api/v1/project/users/ngiven/access-tokens', headers: nativeHeaders }), 201).accessToken;
  secrets['native user token (user key)'] = ok(await t.app.inject({ method: 'POST', url: '/api/v1/user/access-tokens', payload: { apiKey: nativeMade.apiKey, apiSecret: nativeMade.apiSecret } }), 201).accessToken;

  // A second account secret, so a rotated-away one has passed through too.
  secrets['second account secret'] = secretOnPage((await person.follow(await person.post('/projects/account-secret', { orgId }))).body, 'account-secret');

  const { tables, dump } = await dumpAllTables(t.db);
  for (const table of ['api_accounts', 'domains', 'domain_users', 'domain_tokens', 'audit_events']) assert.ok(tables.includes(table), `${table} was scanned`);
  assert.equal(Object.keys(secrets).length, 21);
  for (const [what, value] of Object.entries(secrets)) {
    assert.ok(typeof value === 'string' && value.length >= 10, `${what} was captured`);
    assert.ok(!dump.includes(value), `${what} found in the database`);
    assert.ok(!log.text.includes(value), `${what} found in the logs`);
    // Keys, secrets and tokens carry a three-letter prefix; the random part alone is not there either.
    if (/^[A-Z]{3}[0-9a-f]{32,}$/.test(value)) {
      assert.ok(!dump.includes(value.slice(3)), `the random part of ${what} found in the database`);
      assert.ok(!log.text.includes(value.slice(3)), `the random part of ${what} found in the logs`);
    }
  }
  // What is stored instead: the hashes (generated passwords with their scheme), so the scan above
  // looked where the credentials would be.
  for (const what of ['second account secret', 'project secret (API)', 'rotated project secret', 'user secret (made)', 'native user secret (given)', 'domain token', 'user token (user key)']) {
    assert.ok(dump.includes(`"${sha256(secrets[what]!)}"`), `the hash of ${what} is stored`);
  }
  assert.ok(dump.includes(`"sha256$${sha256(secrets['generated password']!)}"`), 'the generated password is stored as its SHA-256');
  assert.ok(log.text.includes('/v1.2/domains/users/accesstokens?[query redacted]'), 'requests were logged');
});
