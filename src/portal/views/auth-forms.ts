// The sign-up and log-in forms, shared by the portal (/signup, /login) and a platform's
// white-label pages (/{platform}/signup, …), which post to their own prefix and may say above the
// form what the person agrees to.
import { html, type SafeHtml } from '../../lib/html.js';
import { csrfField } from './layout.js';
import { failureBox, field, type FormFailure } from '../forms.js';
import { EMAIL_MAX, NAME_MAX, PASSWORD_MAX, PASSWORD_MIN } from '../../accounts/accounts.service.js';

export interface FormOptions {
  /** Where the forms post and link: '' for the portal, '/{platform}' for a platform. */
  prefix?: string;
  /** Shown above the form (what the application will get). */
  intro?: SafeHtml;
  signupLabel?: string;
  /** The identity providers to offer (LOGIN_PROVIDERS), each a button above the password form. */
  providers?: readonly { id: string; label: string }[];
}

/** One button per provider; each posts to `{prefix}/login/{id}` (federation/pages.ts) and carries `next`. */
function providerButtons(csrf: string, next: string, opts: FormOptions, verb: string): SafeHtml {
  if (!opts.providers?.length) return html``;
  return html`<div class="providers">${opts.providers.map((p) => html`<form method="post" action="${opts.prefix ?? ''}/login/${p.id}">${csrfField(csrf)}<input type="hidden" name="next" value="${next}"><button class="secondary provider" type="submit">${verb} with ${p.label}</button></form>`)}
<p class="or muted"><span>or with your e-mail</span></p></div>`;
}

export interface SignupValues { email?: unknown; name?: unknown; next?: unknown }

export function signupForm(csrf: string, v: SignupValues, failure?: FormFailure, opts: FormOptions = {}) {
  const next = typeof v.next === 'string' ? v.next : '';
  return html`<div class="card"><h1>Create your account</h1>${failureBox(failure)}
${opts.intro ?? ''}${providerButtons(csrf, next, opts, 'Sign up')}<form method="post" action="${opts.prefix ?? ''}/signup">${csrfField(csrf)}<input type="hidden" name="next" value="${next}">
${field({ name: 'name', label: 'Name', value: v.name, required: true, maxLength: NAME_MAX, autocomplete: 'name' }, failure)}
${field({ name: 'email', label: 'Email', type: 'email', value: v.email, required: true, maxLength: EMAIL_MAX, autocomplete: 'email' }, failure)}
${field({ name: 'password', label: 'Password', type: 'password', required: true, minLength: PASSWORD_MIN, maxLength: PASSWORD_MAX, autocomplete: 'new-password', hint: `At least ${PASSWORD_MIN} characters.` }, failure)}
<button type="submit">${opts.signupLabel ?? 'Sign up'}</button></form>
<p class="muted">Already have an account? <a href="${opts.prefix ?? ''}/login${next ? `?next=${encodeURIComponent(next)}` : ''}">Log in</a></p></div>`;
}

export function loginForm(csrf: string, v: { email?: unknown; next?: unknown }, failure?: FormFailure, opts: FormOptions = {}) {
  const next = typeof v.next === 'string' ? v.next : '';
  return html`<div class="card"><h1>Log in</h1>${failureBox(failure)}
${opts.intro ?? ''}${providerButtons(csrf, next, opts, 'Continue')}<form method="post" action="${opts.prefix ?? ''}/login">${csrfField(csrf)}<input type="hidden" name="next" value="${next}">
${field({ name: 'email', label: 'Email', type: 'email', value: v.email, required: true, maxLength: EMAIL_MAX, autocomplete: 'username' }, failure)}
${field({ name: 'password', label: 'Password', type: 'password', required: true, maxLength: PASSWORD_MAX, autocomplete: 'current-password' }, failure)}
<button type="submit">Log in</button></form>
${opts.prefix ? '' : html`<p class="muted"><a href="/password/forgot">Forgot your password?</a></p>`}<p class="muted">New here? <a href="${opts.prefix ?? ''}/signup${next ? `?next=${encodeURIComponent(next)}` : ''}">Create an account</a></p></div>`;
}


/** The second step of a log-in: a code from the authenticator app, or a recovery code. */
export function codeForm(csrf: string, failure?: FormFailure, prefix = ''): SafeHtml {
  return html`<div class="card"><h1>Two-factor authentication</h1>${failureBox(failure)}
<form method="post" action="${prefix}/login/code">${csrfField(csrf)}
${field({ name: 'code', label: 'Code from your authenticator app', required: true, maxLength: 20, autocomplete: 'one-time-code', hint: 'Six digits; or one of your recovery codes (xxxxx-xxxxx).' }, failure)}
<button type="submit">Continue</button></form>
<p class="muted"><a href="${prefix}/login">Start again</a></p></div>`;
}
