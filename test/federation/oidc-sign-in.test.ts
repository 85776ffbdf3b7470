// Federated sign-in with a generic OpenID Connect provider: oidc-provider started here (its e-mail
// claims come from its userinfo endpoint), driven over HTTP as a browser would. A first sign-in
// makes the account, the next one finds it; an existing account is linked only after its
// password; an unverified address never links; every failure path is a page with an audit entry
// and nothing else written.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createTestApp, type TestApp } from '../helpers/app.js';
import { PortalClient } from '../helpers/portal.js';
import { signInUpstream, startUpstream, type Upstream } from '../helpers/upstream.js';
import { codeAt, enrolTwoFactor } from '../identity/helpers.js';

const CLIENT = { clientId: 'tessera-test', clientSecret: 'upstream-client-secret-0123456789' };
const PUBLIC_URL = 'http://tessera.test';

describe('sign-in with an OpenID Connect provider', () => {
  let t: TestApp;
  let up: Upstream;

  before(async () => {
    up = await startUpstream({ ...CLIENT, redirectUris: [`${PUBLIC_URL}/login/corp/callback`] });
    up.accounts.set('alice', { email: 'alice@corp.example', email_verified: true, name: 'Alice Corp' });
    up.accounts.set('bob', { email: 'bob@example.com', email_verified: true, name: 'Bob Upstream' });
    up.accounts.set('mallory', { email: 'victim@example.com', email_verified: false, name: 'Mallory' });
    up.accounts.set('nomail', { name: 'No Mail' });
    up.accounts.set('mfa', { email: 'mfa@corp.example', email_verified: true, name: 'Mia Factor', amr: ['pwd', 'mfa'] });
    t = await createTestApp({
      LOGIN_PROVIDERS: JSON.stringify([
        { id: 'corp', type: 'oidc', issuer: up.url, ...CLIENT, label: 'Corp SSO' },
        { id: 'down', type: 'oidc', issuer: 'http://127.0.0.1:1', clientId: 'x', clientSecret: 'y', label: 'Down IdP' },
      ]),
    });
  });
  after(async () => {
    await t?.close();
    await up?.close();
  });

  const count = async (table: 'users' | 'user_identities' | 'sessions') => Number((await t.db.kysely.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  const audits = (action: string) => t.db.kysely.selectFrom('audit_events').selectAll().where('action', '=', action).orderBy('id').execute();

  /** Presses the provider's button on the log-in page; answers the browser and the provider's URL. */
  async function press(p = new PortalClient(t.app), next = '/dashboard', path = '/login/corp') {
    await p.get(`/login?next=${encodeURIComponent(next)}`);
    const res = await p.post(path, { next });
    assert.equal(res.statusCode, 303, res.body.slice(0, 500));
    return { p, location: res.headers.location as string };
  }

  /** The whole round trip: button, provider, callback. */
  async function signIn(login: string, next = '/dashboard', p?: PortalClient) {
    const started = await press(p, next);
    const back = await signInUpstream(started.location, login);
    const res = await started.p.get(back.pathname + back.search);
    return { p: started.p, res, back };
  }

  test('the log-in and sign-up pages offer every provider, each button carrying where to go next', async () => {
    const p = new PortalClient(t.app);
    const login = await p.get('/login?next=%2Foauth%2Fauthorize%3Fclient_id%3Dx');
    assert.match(login.body, /<form method="post" action="\/login\/corp"><input type="hidden" name="_csrf" value="[^"]+"><input type="hidden" name="next" value="\/oauth\/authorize\?client_id=x"><button class="secondary provider" type="submit">Continue with Corp SSO<\/button><\/form>/);
    assert.match(login.body, /Continue with Down IdP/);
    assert.match((await p.get('/signup')).body, /Sign up with Corp SSO/);
  });

  test('the request sent to the provider: code flow with PKCE (S256), state, nonce and the exact callback', async () => {
    const { location } = await press();
    const url = new URL(location);
    assert.equal(url.origin + url.pathname, `${up.url}/auth`);
    const q = Object.fromEntries(url.searchParams);
    assert.deepEqual(Object.keys(q).sort(), ['client_id', 'code_challenge', 'code_challenge_method', 'nonce', 'redirect_uri', 'response_type', 'scope', 'state']);
    assert.equal(q.response_type, 'code');
    assert.equal(q.client_id, CLIENT.clientId);
    assert.equal(q.redirect_uri, `${PUBLIC_URL}/login/corp/callback`);
    assert.equal(q.scope, 'openid email profile');
    assert.equal(q.code_challenge_method, 'S256');
    assert.match(q.code_challenge!, /^[A-Za-z0-9_-]{43}$/);
    assert.match(q.state!, /^[A-Za-z0-9_-]{43}$/);
    assert.match(q.nonce!, /^[A-Za-z0-9_-]{43}$/);
    // Only the state's hash is stored; the verifier and nonce are derived from it, not kept.
    const row = await t.db.kysely.selectFrom('federated_logins').selectAll().orderBy('created_at', 'desc').executeTakeFirstOrThrow();
    assert.notEqual(row.state_hash, q.state);
    assert.equal(JSON.stringify(row).includes(q.nonce!), false);
  });

  test('a first sign-in makes the account from the claims (userinfo), with the address confirmed as the provider says', async () => {
    const users = await count('users');
    const started = t.clock.now();
    const { p, res } = await signIn('alice');
    assert.equal(res.statusCode, 303, res.body.slice(0, 500));
    assert.equal(res.headers.location, '/dashboard');
    const dashboard = await p.follow(res);
    assert.equal(dashboard.statusCode, 200);
    assert.match(dashboard.body, /Welcome to Tessera, Alice Corp\. Your account is ready; you sign in with Corp SSO\./);
    assert.equal(await count('users'), users + 1);
    const user = await t.db.kysely.selectFrom('users').selectAll().where('email', '=', 'alice@corp.example').executeTakeFirstOrThrow();
    assert.equal(user.name, 'Alice Corp');
    assert.equal(user.password_hash, '', 'no password until the person sets one');
    assert.ok(user.email_verified_at! >= started && user.email_verified_at! <= t.clock.now(), 'confirmed at the sign-in');
    const identity = await t.db.kysely.selectFrom('user_identities').selectAll().where('user_id', '=', user.id).executeTakeFirstOrThrow();
    assert.deepEqual({ provider: identity.provider_id, subject: identity.subject, email: identity.email, mfa: identity.mfa },
      { provider: 'corp', subject: 'alice', email: 'alice@corp.example', mfa: 0 });
    const [linked] = (await audits('identity.linked')).filter((a) => a.actor_id === user.id);
    assert.equal(linked?.summary, 'Corp SSO: account made at the first sign-in with Corp SSO');
    assert.equal(linked?.ip, '127.0.0.1');
  });

  test('a second sign-in finds the account by the provider\'s subject; no account is made', async () => {
    const users = await count('users');
    const { p, res } = await signIn('alice', '/orgs');
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, '/orgs');
    assert.equal(await count('users'), users);
    assert.match((await p.get('/dashboard')).body, /Welcome, Alice Corp/);
    const last = (await audits('login.federated')).at(-1)!;
    assert.equal(last.summary, 'signed in with Corp SSO');
    // The session did not pass a second factor: the provider asserted none.
    const session = await t.db.kysely.selectFrom('sessions').innerJoin('users', 'users.id', 'sessions.user_id').select('sessions.second_factor')
      .where('users.email', '=', 'alice@corp.example').orderBy('sessions.created_at', 'desc').executeTakeFirstOrThrow();
    assert.equal(session.second_factor, 0);
  });

  test('an account with the same verified e-mail is linked only after its password, then either way signs in', async () => {
    const owner = new PortalClient(t.app);
    await owner.signup('bob@example.com', 'Bob Password');
    const bobId = (await t.db.kysely.selectFrom('users').select('id').where('email', '=', 'bob@example.com').executeTakeFirstOrThrow()).id;
    const users = await count('users');
    const { p, res } = await signIn('bob');
    assert.equal(res.statusCode, 303);
    const to = new URL(res.headers.location as string, PUBLIC_URL);
    assert.equal(to.pathname, '/login');
    assert.deepEqual(Object.fromEntries(to.searchParams), { next: '/dashboard', login_hint: 'bob@example.com' });
    assert.equal(p.cookie('tessera_session'), undefined, 'no session before the password');
    const loginPage = await p.follow(res);
    assert.match(loginPage.body, /An account with bob@example\.com already exists\. Log in to it with its password to link Corp SSO; from then on either way signs you in\./);
    assert.equal(await count('users'), users, 'no account made');
    assert.equal((await t.db.kysely.selectFrom('user_identities').select('id').where('user_id', '=', bobId).execute()).length, 0, 'nothing linked yet');

    // A wrong password links nothing and keeps the offer; the right one links.
    assert.equal((await p.post('/login', { email: 'bob@example.com', password: 'wrong password here', next: '/dashboard' })).statusCode, 401);
    assert.equal((await t.db.kysely.selectFrom('user_identities').select('id').where('user_id', '=', bobId).execute()).length, 0);
    const ok = await p.post('/login', { email: 'bob@example.com', password: 'correct horse battery', next: '/dashboard' });
    assert.equal(ok.statusCode, 303);
    assert.match((await p.follow(ok)).body, /Corp SSO is linked to your account: you can sign in with it from now on\./);
    const identity = await t.db.kysely.selectFrom('user_identities').selectAll().where('user_id', '=', bobId).executeTakeFirstOrThrow();
    assert.equal(identity.subject, 'bob');

    const again = await signIn('bob');
    assert.equal(again.res.headers.location, '/dashboard');
    assert.match((await again.p.get('/dashboard')).body, /Welcome, Bob Password/);
  });

  test('the pending link belongs to the browser that signed in: another browser\'s log-in links nothing', async () => {
    const carol = new PortalClient(t.app);
    await carol.signup('carol@example.com', 'Carol');
    up.accounts.set('carol', { email: 'carol@example.com', email_verified: true, name: 'Carol' });
    const { p } = await signIn('carol');
    assert.ok(p.cookie('tessera_link'));
    const other = new PortalClient(t.app);
    await other.get('/login');
    assert.equal((await other.post('/login', { email: 'carol@example.com', password: 'correct horse battery' })).statusCode, 303);
    const carolId = (await t.db.kysely.selectFrom('users').select('id').where('email', '=', 'carol@example.com').executeTakeFirstOrThrow()).id;
    assert.equal((await t.db.kysely.selectFrom('user_identities').select('id').where('user_id', '=', carolId).execute()).length, 0);
  });

  test('an unverified e-mail of an existing account never links, and nothing is written but the audit entry', async () => {
    const victim = new PortalClient(t.app);
    await victim.signup('victim@example.com', 'Victim');
    const before = { users: await count('users'), identities: await count('user_identities') };
    const { res } = await signIn('mallory');
    assert.equal(res.statusCode, 409);
    assert.match(res.body, /An account with victim@example\.com already exists, and Corp SSO did not confirm that this address is yours, so it cannot be linked\. Log in with your password, then link Corp SSO under Account\./);
    assert.equal(res.cookies.some((c) => c.name === 'tessera_link' || c.name === 'tessera_session'), false);
    assert.deepEqual({ users: await count('users'), identities: await count('user_identities') }, before);
    const failed = (await audits('login.federated_failed')).at(-1)!;
    assert.deepEqual({ actor: failed.actor_type, target: failed.target_id, summary: failed.summary },
      { actor: 'anonymous', target: 'corp', summary: 'e-mail of an existing account, not verified by the provider' });
  });

  test('a provider that shares no e-mail address: a clear page, no account', async () => {
    const users = await count('users');
    const { res } = await signIn('nomail');
    assert.equal(res.statusCode, 400);
    assert.match(res.body, /Corp SSO did not tell us your e-mail address, which a Tessera account needs\./);
    assert.equal(await count('users'), users);
  });

  test('the person cancels at the provider: a page saying so, an audit entry, nothing written', async () => {
    const before = { users: await count('users'), sessions: await count('sessions') };
    const started = await press();
    const back = await signInUpstream(started.location, 'alice', 'deny');
    assert.equal(back.searchParams.get('error'), 'access_denied');
    const res = await started.p.get(back.pathname + back.search);
    assert.equal(res.statusCode, 403);
    assert.match(res.body, /<h1>Sign-in failed<\/h1><p class="error" role="alert">You did not allow the sign-in at Corp SSO, so nothing changed here\./);
    assert.match(res.body, /<a class="button" href="\/login">Back to log in<\/a>/);
    // Going back keeps where the sign-in was going.
    const toOrgs = await press(undefined, '/orgs');
    const denied = await signInUpstream(toOrgs.location, 'alice', 'deny');
    const cancelled = await toOrgs.p.get(denied.pathname + denied.search);
    assert.match(cancelled.body, /<a class="button" href="\/login\?next=%2Forgs">Back to log in<\/a>/);
    assert.deepEqual({ users: await count('users'), sessions: await count('sessions') }, before);
    assert.match((await audits('login.federated_failed')).at(-1)!.summary!, /^the provider answered access_denied/);
  });

  test('a callback is spent once: the same answer again is refused as used', async () => {
    const { p, back, res } = await signIn('alice');
    assert.equal(res.statusCode, 303);
    const sessions = await count('sessions');
    const replay = await p.get(back.pathname + back.search);
    assert.equal(replay.statusCode, 400);
    assert.match(replay.body, /This sign-in has already been used\. Start again from the log-in page and choose Corp SSO\./);
    assert.equal(await count('sessions'), sessions);
    assert.equal((await audits('login.federated_failed')).at(-1)!.summary, 'callback replayed');
  });

  test('a state that was never issued, or none, is refused', async () => {
    const p = new PortalClient(t.app);
    await p.get('/login');
    const forged = await p.get('/login/corp/callback?code=abc&state=forged-state-value');
    assert.equal(forged.statusCode, 400);
    assert.match(forged.body, /This sign-in answer does not belong to a sign-in started here\./);
    const none = await p.get('/login/corp/callback?code=abc');
    assert.equal(none.statusCode, 400);
    assert.equal((await audits('login.federated_failed')).at(-1)!.summary, 'no state');
  });

  test('an answer brought to another browser is refused (login CSRF): the state is bound to the browser that started', async () => {
    const started = await press();
    const back = await signInUpstream(started.location, 'alice');
    const victim = new PortalClient(t.app);
    await victim.get('/login');
    const res = await victim.get(back.pathname + back.search);
    assert.equal(res.statusCode, 400);
    assert.match(res.body, /This sign-in was started in another browser, so it cannot finish in this one\./);
    assert.equal(victim.cookie('tessera_session'), undefined);
  });

  test('a code from one sign-in under the state of another is refused (PKCE and nonce belong to the state)', async () => {
    const a = await press();
    const b = await press(a.p);
    const backB = await signInUpstream(b.location, 'alice');
    const stateA = new URL(a.location).searchParams.get('state')!;
    const mixed = new URLSearchParams(backB.search);
    mixed.set('state', stateA);
    const res = await a.p.get(`${backB.pathname}?${mixed.toString()}`);
    assert.equal(res.statusCode, 400);
    assert.match(res.body, /Corp SSO sent an answer that could not be verified, so you were not signed in\./);
  });

  for (const [how, words] of [
    ['nonce', /nonce/], ['issuer', /iss/], ['audience', /aud/], ['expired', /exp/], ['signature', /signature/],
  ] as const) {
    test(`an ID token with a wrong ${how} is refused, and nothing is written`, async () => {
      const before = { users: await count('users'), sessions: await count('sessions') };
      const started = await press();
      const back = await signInUpstream(started.location, 'alice');
      up.tamperNext(how);
      const res = await started.p.get(back.pathname + back.search);
      assert.equal(res.statusCode, 400, res.body.slice(0, 400));
      assert.match(res.body, /Corp SSO sent an answer that could not be verified, so you were not signed in\./);
      assert.deepEqual({ users: await count('users'), sessions: await count('sessions') }, before);
      const failed = (await audits('login.federated_failed')).at(-1)!;
      assert.match(failed.summary!, words, failed.summary!);
    });
  }

  test('a provider that cannot be reached: its button answers a clear page (502), the start of Tessera is not affected', async () => {
    const { p } = await press();
    await p.get('/login');
    const res = await p.post('/login/down', { next: '/dashboard' });
    assert.equal(res.statusCode, 502, res.body.slice(-1500));
    assert.match(res.body, /Down IdP cannot be reached right now, so you cannot sign in with it\. Try again in a few minutes, or log in with your e-mail and password\./);
    assert.match((await audits('login.federated_failed')).at(-1)!.summary!, /^discovery failed/);
    // A provider that goes down between the button and the callback.
    const started = await press();
    const back = await signInUpstream(started.location, 'alice');
    up.setDown(true);
    try {
      const late = await started.p.get(back.pathname + back.search);
      assert.equal(late.statusCode, 502);
      assert.match(late.body, /Corp SSO could not be reached to finish signing you in\./);
    } finally {
      up.setDown(false);
    }
  });

  test('a sign-in left at the provider longer than ten minutes has expired', async () => {
    const started = await press();
    const back = await signInUpstream(started.location, 'alice');
    t.clock.advance(10 * 60_000 + 1);
    const res = await started.p.get(back.pathname + back.search);
    assert.equal(res.statusCode, 400);
    assert.match(res.body, /This sign-in took too long and has expired\./);
  });

  test('an unknown provider is a 404 page; a provider id that is not one is refused before anything else', async () => {
    const p = new PortalClient(t.app);
    await p.get('/login');
    const res = await p.post('/login/nobody', {});
    assert.equal(res.statusCode, 404);
    assert.match(res.body, /There is no such sign-in provider here\./);
    assert.equal((await p.get('/login/nobody/callback?state=x&code=y')).statusCode, 404);
    assert.equal((await p.post('/login/corp', {}, { csrf: 'forged' })).statusCode, 403);
  });

  test('two-factor authentication: the code is asked after the provider unless it asserted MFA', async () => {
    // Alice turns on TOTP; her next federated sign-in stops at the code page.
    const { p } = await signIn('alice');
    await enrolTwoFactor(p, t.clock);
    const held = await signIn('alice', '/orgs');
    assert.equal(held.res.headers.location, '/login/code');
    assert.equal(held.p.cookie('tessera_session'), undefined);
    const secret = /id="totp-secret">([A-Z2-7]+)</.exec((await p.get('/account')).body);
    assert.equal(secret, null, 'the secret is not shown again');
    // Mia's provider asserts MFA: no code, and the session counts as having passed a second factor.
    const mia = await signIn('mfa');
    assert.equal(mia.res.headers.location, '/dashboard');
    const session = await t.db.kysely.selectFrom('sessions').innerJoin('users', 'users.id', 'sessions.user_id').select('sessions.second_factor')
      .where('users.email', '=', 'mfa@corp.example').executeTakeFirstOrThrow();
    assert.equal(session.second_factor, 1);
    assert.equal((await audits('login.federated')).at(-1)!.summary, 'signed in with Corp SSO (MFA asserted)');
    // The held log-in goes on with the authenticator's code, and that session passed a second factor.
    const secretOf = await t.db.kysely.selectFrom('two_factor').innerJoin('users', 'users.id', 'two_factor.user_id').select('two_factor.secret_sealed')
      .where('users.email', '=', 'alice@corp.example').executeTakeFirstOrThrow();
    t.clock.advance(30_000);
    await held.p.get('/login/code');
    const coded = await held.p.post('/login/code', { code: codeAt(secretOf.secret_sealed, t.clock.now()) });
    assert.equal(coded.statusCode, 303, coded.body.slice(0, 300));
    assert.equal(coded.headers.location, '/orgs');
  });

  test('an organisation that requires 2FA: a member whose provider asserted MFA acts for it; one whose did not is sent to enrol', async () => {
    const owner = new PortalClient(t.app);
    await owner.signup('org-owner@example.com', 'Org Owner');
    await enrolTwoFactor(owner, t.clock);
    const orgId = await owner.createOrg('Strict Ltd');
    await owner.get(`/orgs/${orgId}`);
    assert.equal((await owner.post(`/orgs/${orgId}/members`, { email: 'mfa@corp.example', role: 'admin' })).statusCode, 303);
    up.accounts.set('plain', { email: 'plain@corp.example', email_verified: true, name: 'Plain Member' });
    await signIn('plain');
    assert.equal((await owner.post(`/orgs/${orgId}/members`, { email: 'plain@corp.example', role: 'admin' })).statusCode, 303);
    assert.equal((await owner.post(`/orgs/${orgId}/two-factor`, { required: 'yes' })).statusCode, 303);

    const mia = await signIn('mfa');
    assert.equal((await mia.p.get(`/orgs/${orgId}`)).statusCode, 200);
    const plain = await signIn('plain');
    const refused = await plain.p.get(`/orgs/${orgId}`);
    assert.equal(refused.statusCode, 303);
    assert.equal(refused.headers.location, '/account#two-factor');
  });

  test('the account page lists linked identities; linking another account of the provider; unlinking keeps a way in', async () => {
    const { p } = await signIn('bob');
    const account = await p.get('/account');
    assert.match(account.body, /<div class="card" id="sign-in-methods">/);
    assert.match(account.body, /<td>Corp SSO<\/td><td>bob@example\.com<\/td>/);
    assert.match(account.body, /Link Down IdP/);
    assert.match(account.body, /Password: <span class="tag ok">set<\/span>/);
    const bob = await t.db.kysely.selectFrom('user_identities').innerJoin('users', 'users.id', 'user_identities.user_id').select(['user_identities.id', 'users.id as userId'])
      .where('users.email', '=', 'bob@example.com').executeTakeFirstOrThrow();

    // Alice's identity cannot be linked to Bob: it belongs to Alice's account.
    const link = await p.post('/account/identities/link/corp', {});
    assert.equal(link.statusCode, 303);
    const back = await signInUpstream(link.headers.location as string, 'alice');
    const taken = await p.get(back.pathname + back.search);
    assert.equal(taken.statusCode, 409);
    assert.match(taken.body, /This Corp SSO account is already linked to another Tessera account\./);

    // Bob has a password: unlinking is allowed.
    const unlink = await p.post(`/account/identities/${bob.id}/unlink`, {});
    assert.equal(unlink.statusCode, 303);
    assert.match((await p.follow(unlink)).body, /Corp SSO is unlinked: it no longer signs you in\./);
    assert.equal((await t.db.kysely.selectFrom('user_identities').select('id').where('user_id', '=', bob.userId).execute()).length, 0);
    assert.equal((await audits('identity.unlinked')).at(-1)!.summary, 'unlinked Corp SSO (bob@example.com)');

    // Linking it again from the account page.
    await p.get('/account');
    const relink = await p.post('/account/identities/link/corp', {});
    const relinkedAt = await signInUpstream(relink.headers.location as string, 'bob');
    const relinked = await p.get(relinkedAt.pathname + relinkedAt.search);
    assert.equal(relinked.statusCode, 303);
    assert.equal(relinked.headers.location, '/account#sign-in-methods');
    assert.match((await p.follow(relinked)).body, /Corp SSO is linked: you can sign in with it from now on\./);
    assert.equal((await t.db.kysely.selectFrom('user_identities').select('subject').where('user_id', '=', bob.userId).execute()).map((r) => r.subject).join(), 'bob');
  });

  test('an account made through the provider cannot unlink its only way in, and is offered a password link', async () => {
    up.accounts.set('solo', { email: 'solo@corp.example', email_verified: true, name: 'Solo' });
    const { p } = await signIn('solo');
    const account = await p.get('/account');
    assert.match(account.body, /Password: <span class="tag warn">none<\/span>/);
    assert.match(account.body, /E-mail me a link to set a password/);
    assert.doesNotMatch(account.body, /Change password/);
    const id = (await t.db.kysely.selectFrom('user_identities').innerJoin('users', 'users.id', 'user_identities.user_id').select('user_identities.id')
      .where('users.email', '=', 'solo@corp.example').executeTakeFirstOrThrow()).id;
    const refused = await p.post(`/account/identities/${id}/unlink`, {});
    assert.equal(refused.statusCode, 409);
    assert.match(refused.body, /Corp SSO is your only way to sign in\. Set a password \(Account → Forgot your password\) or link another provider first\./);
    assert.ok(await t.db.kysely.selectFrom('user_identities').select('id').where('id', '=', id).executeTakeFirst());
    // The offered link: a reset link in the person's own mailbox, sent before the answer.
    const sent = await p.post('/account/password/link', {});
    assert.equal(sent.statusCode, 303);
    assert.match((await p.follow(sent)).body, /A link to set your password is on its way to solo@corp\.example\./);
    const mail = await t.db.kysely.selectFrom('mail_messages').select(['subject', 'body']).where('recipient', '=', 'solo@corp.example').orderBy('created_at', 'desc').executeTakeFirstOrThrow();
    assert.equal(mail.subject, 'Reset your password');
    assert.match(mail.body, /http:\/\/tessera\.test\/password\/reset\?token=/);
    // Two-factor authentication turns off with the code alone: there is no password to ask for.
    const { secret } = await enrolTwoFactor(p, t.clock);
    const accountPage = await p.get('/account');
    assert.doesNotMatch(accountPage.body, /name="password"/);
    t.clock.advance(30_000);
    const off = await p.post('/account/two-factor/disable', { code: codeAt(secret, t.clock.now()) });
    assert.equal(off.statusCode, 303, off.body.slice(0, 300));
    // Its password log-in fails like any wrong password (no hint that the account has none).
    const other = new PortalClient(t.app);
    await other.get('/login');
    const res = await other.post('/login', { email: 'solo@corp.example', password: 'correct horse battery' });
    assert.equal(res.statusCode, 401);
    assert.match(res.body, /The email or password is not correct/);
  });
});
