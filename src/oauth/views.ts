// The interactive pages of the authorization flow, in the portal's frame (portal/views/layout.ts).
import { html, type SafeHtml } from '../lib/html.js';
import { csrfField } from '../portal/views/layout.js';
import { PERMISSIONS } from '../connectors/permissions.js';
import type { AuthorizationRequest } from './authorize.js';
import type { ParsedScope } from './scopes.js';

const OIDC_LABELS: Record<string, string> = {
  openid: 'Know who you are (your Tessera account ID)',
  profile: 'See your name',
  email: 'See your email address',
  phone: 'See your verified phone number',
  offline_access: 'Stay connected when you are not using it',
};

const DIRECTORY_LABELS: Record<string, string> = {
  'directory.person': 'See your name, e-mail address and organisations',
  'directory.organization': 'See the organisation and its members; create organisations in your name',
  'directory.platform_membership': 'Become a member of the platform',
  'directory.platform': 'Manage the platform',
  'directory.audit_log': 'Read the organisation\'s audit log',
};

export function scopeLabel(scope: ParsedScope, orgNames: Map<string, string>): SafeHtml {
  // A Zaikio-style scope stands for several permissions: the person reads each of them.
  const label = OIDC_LABELS[scope.base] ?? DIRECTORY_LABELS[scope.base.replace(/\.(rw|r|w)$/, '')]
    ?? (scope.permissions.length ? scope.permissions.map((p) => PERMISSIONS[p]).join('; ') : scope.base);
  const org = scope.bearer?.type === 'Org' ? scope.bearer.id : undefined;
  return html`${label}${org ? html` <span class="tag">for ${orgNames.get(org) ?? org}</span>` : ''} <code>${scope.raw}</code>`;
}

/** What the application will get, as the list the consent and sign-up pages show. */
export function scopeList(req: AuthorizationRequest, orgNames: Map<string, string>): SafeHtml {
  return html`<ul class="steps">${req.scopes.map((s) => html`<li>${scopeLabel(s, orgNames)}</li>`)}</ul>`;
}

export function consentPage(req: AuthorizationRequest, csrf: string, who: { name: string; email: string }, orgName: string, orgNames: Map<string, string>, prefix = ''): SafeHtml {
  return html`<div class="card"><h1>Allow ${req.client.name}?</h1>
<p><b>${req.client.name}</b> (registered by ${orgName}) asks to:</p>
${scopeList(req, orgNames)}
<p class="muted">Signed in as ${who.name} (${who.email}). You can withdraw this at any time under App consents.</p>
<form method="post" action="${prefix}/oauth/consent">${csrfField(csrf)}
${Object.entries(req.params).filter(([k]) => k !== 'prompt').map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`)}
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny" class="secondary">Deny</button></form>
<p class="muted">You will be sent back to <code>${req.redirectUri}</code>.</p></div>`;
}

export function errorPage(message: string): SafeHtml {
  return html`<div class="card"><h1>This sign-in request cannot continue</h1><div class="error" role="alert">${message}</div>
<p class="muted">For your safety you are not sent back to the application. Tell its developer what happened.</p></div>`;
}
