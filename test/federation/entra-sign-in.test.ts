// The Entra ID preset against an upstream shaped like Microsoft's multi-tenant endpoints
// (helpers/upstream.ts): discovery at /organizations/v2.0 naming the issuer
// http://…/{tenantid}/v2.0, ID tokens with tid, oid and preferred_username. The identity is
// (tid, oid); the issuer must be the template filled with the token's own tid; allowedTenants
// limits whose accounts may sign in; Entra's unverified addresses never link.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { PortalClient } from '../helpers/portal.js';
import { signInUpstream, startUpstream, type Upstream } from '../helpers/upstream.js';

const CLIENT = { clientId: '6731de76-14a6-49ae-97bc-6eba6914391e', clientSecret: 'entra-client-secret-0123456789' };
const CONTOSO = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const FABRIKAM = '3c7b6e2a-1d55-4c8e-9b8a-0f6a5d2e9c41';
const STRANGER = '0d1f4a7e-5b2c-4e3d-8a9f-112233445566';

describe('sign-in with Microsoft Entra ID (multi-tenant)', () => {
  let t: TestApp;
  let up: Upstream;

  before(async () => {
    up = await startUpstream({ ...CLIENT, redirectUris: ['http://tessera.test/login/microsoft/callback'], entra: { tenants: [CONTOSO, FABRIKAM, STRANGER] } });
    up.accounts.set('ada', { tid: CONTOSO, oid: '00000000-0000-0000-0000-00000000a0a0', name: 'Ada Contoso', preferred_username: 'ada@contoso.example', email: 'ada@contoso.example', xms_edov: true });
    // The same object id in another tenant is another person.
    up.accounts.set('ada-fabrikam', { tid: FABRIKAM, oid: '00000000-0000-0000-0000-00000000a0a0', name: 'Ada Fabrikam', preferred_username: 'ada@fabrikam.example' });
    up.accounts.set('eve', { tid: STRANGER, oid: '00000000-0000-0000-0000-0000000000e0', name: 'Eve Stranger', preferred_username: 'eve@stranger.example' });
    up.accounts.set('upn-only', { tid: CONTOSO, oid: '00000000-0000-0000-0000-0000000000b0', name: 'Ben UPN', preferred_username: 'ben@example.com' });
    t = await createTestApp({
      LOGIN_PROVIDERS: JSON.stringify([{
        id: 'microsoft', type: 'entra', tenant: 'organizations', allowedTenants: [CONTOSO, FABRIKAM], authority: up.url, ...CLIENT, label: 'Microsoft',
      }]),
    });
  });
  after(async () => {
    await t?.close();
    await up?.close();
  });

  async function signIn(login: string, tenant: string) {
    up.useTenant(tenant);
    const p = new PortalClient(t.app);
    await p.get('/login');
    const start = await p.post('/login/microsoft', { next: '/dashboard' });
    assert.equal(start.statusCode, 303, start.body.slice(0, 400));
    const back = await signInUpstream(start.headers.location as string, login);
    return { p, start: new URL(start.headers.location as string), res: await p.get(back.pathname + back.search) };
  }
  const identity = (subject: string) => t.db.kysely.selectFrom('user_identities').innerJoin('users', 'users.id', 'user_identities.user_id')
    .select(['users.email', 'users.name', 'users.email_verified_at', 'user_identities.tenant_id', 'user_identities.subject']).where('subject', '=', subject).executeTakeFirst();

  test('the request goes to the tenant endpoint the preset names, asking for openid profile email', async () => {
    up.useTenant(CONTOSO);
    const p = new PortalClient(t.app);
    await p.get('/login');
    const start = new URL((await p.post('/login/microsoft', {})).headers.location as string);
    assert.equal(start.origin + start.pathname, `${up.url}/organizations/v2.0/auth`);
    assert.equal(start.searchParams.get('scope'), 'openid profile email');
    assert.equal(start.searchParams.get('redirect_uri'), 'http://tessera.test/login/microsoft/callback');
  });

  test('a first sign-in makes the account; the identity is (tid, oid), the e-mail counts as verified only with xms_edov', async () => {
    const { res } = await signIn('ada', CONTOSO);
    assert.equal(res.statusCode, 303, res.body.slice(0, 600));
    const ada = await identity(`${CONTOSO}/00000000-0000-0000-0000-00000000a0a0`);
    assert.equal(ada?.email, 'ada@contoso.example');
    assert.equal(ada?.name, 'Ada Contoso');
    assert.equal(ada?.tenant_id, CONTOSO);
    assert.notEqual(ada?.email_verified_at, null);

    const { res: ben } = await signIn('upn-only', CONTOSO);
    assert.equal(ben.statusCode, 303);
    const b = await identity(`${CONTOSO}/00000000-0000-0000-0000-0000000000b0`);
    assert.equal(b?.email, 'ben@example.com', 'the UPN stands in for the missing e-mail claim');
    assert.equal(b?.email_verified_at, null, 'but Entra did not vouch for it');
  });

  test('the same oid in another allowed tenant is another identity and another account', async () => {
    const { res } = await signIn('ada-fabrikam', FABRIKAM);
    assert.equal(res.statusCode, 303);
    const other = await identity(`${FABRIKAM}/00000000-0000-0000-0000-00000000a0a0`);
    assert.equal(other?.email, 'ada@fabrikam.example');
    const again = await signIn('ada', CONTOSO);
    assert.match((await again.p.get('/dashboard')).body, /Welcome, Ada Contoso/);
  });

  test('a tenant that is not allowed: a clear page (403), an audit entry, nothing written', async () => {
    const users = (await t.db.kysely.selectFrom('users').select('id').execute()).length;
    const { res } = await signIn('eve', STRANGER);
    assert.equal(res.statusCode, 403);
    assert.match(res.body, /Accounts of your organisation&#39;s Microsoft directory may not sign in here\./);
    assert.equal((await t.db.kysely.selectFrom('users').select('id').execute()).length, users);
    const failed = await t.db.kysely.selectFrom('audit_events').selectAll().where('action', '=', 'login.federated_failed').orderBy('id', 'desc').executeTakeFirstOrThrow();
    assert.equal(failed.summary, `tenant ${STRANGER} is not among the allowed tenants`);
  });

  test('an ID token whose issuer is not the template filled with its own tenant is refused', async () => {
    up.useTenant(CONTOSO);
    const p = new PortalClient(t.app);
    await p.get('/login');
    const start = await p.post('/login/microsoft', {});
    const back = await signInUpstream(start.headers.location as string, 'ada');
    up.tamperNext('issuer');
    const res = await p.get(back.pathname + back.search);
    assert.equal(res.statusCode, 400);
    assert.match(res.body, /Microsoft sent an answer that could not be verified/);
    const failed = await t.db.kysely.selectFrom('audit_events').selectAll().where('action', '=', 'login.federated_failed').orderBy('id', 'desc').executeTakeFirstOrThrow();
    assert.match(failed.summary!, /iss/);
  });

  test('an unverified Entra address of an existing account is refused, never linked', async () => {
    const owner = new PortalClient(t.app);
    await owner.signup('fab-owner@example.com', 'Password Owner');
    up.accounts.set('fab-owner', { tid: FABRIKAM, oid: '00000000-0000-0000-0000-0000000000c0', name: 'Fab', preferred_username: 'fab-owner@example.com' });
    const { res } = await signIn('fab-owner', FABRIKAM);
    assert.equal(res.statusCode, 409);
    assert.match(res.body, /An account with fab-owner@example\.com already exists, and Microsoft did not confirm that this address is yours/);
    assert.equal(await identity(`${FABRIKAM}/00000000-0000-0000-0000-0000000000c0`), undefined);
  });
});

describe('LOGIN_PROVIDERS is checked at start', () => {
  const start = (providers: unknown) => createTestApp({ LOGIN_PROVIDERS: typeof providers === 'string' ? providers : JSON.stringify(providers) });
  const entra = { id: 'microsoft', type: 'entra', tenant: 'organizations', clientId: 'c', clientSecret: 's', label: 'Microsoft' };
  const oidc = { id: 'corp', type: 'oidc', issuer: 'https://id.example.com', clientId: 'c', clientSecret: 's', label: 'Corp' };

  for (const [providers, message] of [
    ['{not json', /^LOGIN_PROVIDERS is not JSON: /],
    [{ id: 'x' }, /^LOGIN_PROVIDERS must be a JSON list of providers$/],
    [[{ ...entra, tenant: 'contoso.com' }], /^LOGIN_PROVIDERS\[0\] \("microsoft"\): tenant must be "organizations", "common" or a tenant ID \(a UUID\), got "contoso.com"$/],
    [[{ ...entra, allowedTenants: ['nope'] }], /^LOGIN_PROVIDERS\[0\] \("microsoft"\): allowedTenants must hold tenant IDs \(UUIDs\), got "nope"$/],
    [[oidc, { ...oidc, label: 'Again' }], /^LOGIN_PROVIDERS\[1\] \("corp"\): another provider has the id "corp"$/],
    [[{ ...oidc, issuer: 'http://id.example.com' }], /^LOGIN_PROVIDERS\[0\] \("corp"\): issuer must be an https URL \(http only on a loopback address\), got "http:\/\/id.example.com"$/],
    [[{ ...oidc, clientSecret: '' }], /^LOGIN_PROVIDERS\[0\] \("corp"\): clientSecret is required \(a non-empty string\)$/],
    [[{ ...oidc, id: 'code' }], /^LOGIN_PROVIDERS\[0\] \("code"\): id must be 1-32 of a-z 0-9 - _ \(and not code or link\), got "code"$/],
    [[{ ...oidc, tenant: 'common' }], /^LOGIN_PROVIDERS\[0\] \("corp"\): "tenant" is not a setting of a oidc provider$/],
    [[{ ...oidc, type: 'saml' }], /^LOGIN_PROVIDERS\[0\] \("corp"\): type must be "entra" or "oidc"$/],
  ] as const) {
    test(`refuses ${typeof providers === 'string' ? providers : JSON.stringify(providers).slice(0, 80)}`, async () => {
      await assert.rejects(start(providers), (err: Error) => err.name === 'ConfigError' && message.test(err.message));
    });
  }

  test('a good list starts, whether or not its providers can be reached (discovery waits for the first button)', async () => {
    const t = await start([entra, { ...oidc, issuer: 'https://127.0.0.1:1/unreachable' }]);
    try {
      const res = await t.app.inject({ method: 'GET', url: '/login' });
      assert.equal(res.statusCode, 200);
      assert.match(res.body, /Continue with Microsoft/);
      assert.match(res.body, /Continue with Corp/);
    } finally {
      await t.close();
    }
  });
});
