// The portal's page frame: the menu (a bar on narrow screens), breadcrumbs, the one-time flash,
// and the helpers every page uses: the CSRF field, copyable values, scrolling tables, counts.
import { html, raw, type SafeHtml } from '../../lib/html.js';

/** A one-time message shown on the page after a redirect (portal/flash.ts). */
export interface Flash {
  notice: string;
  /** Values shown once (a new secret, a refresh token), each with a copy button; `id` names the element. */
  secrets?: { id: string; label: string; value: string }[];
  /** A sentence shown under the secrets. */
  note?: string;
}

export interface Theme {
  name: string;
  logo: string | null;
  /** #rrggbb */
  color: string;
  support: string | null;
  /** The platform's pages' prefix (`/{name}`) and the page's own address: "Not you?" logs out and comes back. */
  base: string;
  here: string;
}

export interface PageContext {
  title: string;
  user?: { name: string; email: string } | undefined;
  csrf: string;
  active?: string;
  showOutbox: boolean;
  /** The development e-mail outbox is on (no SMTP_URL). */
  showMailOutbox?: boolean;
  /** A platform's look (its white-label pages): name, logo, colour, support; Tessera only as "powered by". */
  theme?: Theme | undefined;
  flash?: Flash | undefined;
  /** Where the page sits: [label, link] from the top down; the page itself last, without a link. */
  crumbs?: [string, string?][];
}

const STYLE = raw(`
*{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1c2433;background:#f4f6fa;overflow-wrap:anywhere}
a{color:#2f5bd3;text-decoration:none}a:hover{text-decoration:underline}
.shell{display:flex;min-height:100vh}.side{width:220px;background:#16203a;color:#c9d3ea;padding:20px 0;flex-shrink:0}
.side .brand{font-weight:700;font-size:19px;color:#fff;padding:0 22px 18px;letter-spacing:.3px}.side .brand span{color:#7fa2ff}
.side a{display:block;color:#c9d3ea;padding:9px 22px;border-left:3px solid transparent}.side a:hover{background:#1e2b4d;text-decoration:none}
.side a.on{background:#1e2b4d;color:#fff;border-left-color:#7fa2ff}.side .who{padding:18px 22px 0;font-size:13px;color:#8e9bbd;border-top:1px solid #26345a;margin-top:18px}
main{flex:1;min-width:0;padding:32px 40px;max-width:1100px}h1{font-size:24px;margin:0 0 20px}h2{font-size:17px;margin:28px 0 10px}
.card{background:#fff;border:1px solid #dde3ee;border-radius:8px;padding:20px 22px;margin-bottom:18px}
.card>:first-child,.card>input[type=hidden]:first-child+label,.card>form:first-child>input[type=hidden]:first-child+label{margin-top:0}.card>:last-child{margin-bottom:0}
.table{overflow-x:auto;max-width:100%;background:#fff;border-radius:6px}table{width:100%;border-collapse:collapse;background:#fff}th,td{text-align:left;padding:8px 10px;border-bottom:1px solid #e6eaf2;vertical-align:top}th{font-size:12px;text-transform:uppercase;color:#65708a;letter-spacing:.4px;white-space:nowrap}td{min-width:5em}
label{display:block;font-weight:600;margin:12px 0 4px}input[type=text],input[type=email],input[type=password],input[type=tel],input[type=url],input[type=number],input[type=date],select,textarea{display:block;width:100%;max-width:460px;padding:8px 10px;border:1px solid #c5cedf;border-radius:6px;font:inherit;background:#fff}
textarea{min-height:70px}input[autocomplete=one-time-code]{max-width:200px;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:20px;letter-spacing:.3em}.check{font-weight:400;display:flex;gap:8px;align-items:center;margin:6px 0}
button,.button{display:inline-block;white-space:nowrap;overflow-wrap:normal;background:#2f5bd3;color:#fff;border:0;border-radius:6px;padding:8px 16px;font:inherit;font-weight:600;cursor:pointer;margin-top:14px}
button.secondary,.button.secondary{background:#e8edf8;color:#2f5bd3}button.danger{background:#c93a3a}form.inline{display:inline}form.inline button{margin-top:0;padding:5px 12px;font-size:13px}form.inline select{display:inline-block;width:auto;padding:4px 8px;font-size:13px;vertical-align:middle}form.inline+form.inline{margin-left:6px}td:has(>form.inline),td code{white-space:nowrap}
.providers button.provider{display:block;width:100%;max-width:460px;margin-top:8px;border:1px solid #c5cedf}.providers .or{display:flex;align-items:center;gap:10px;max-width:460px;margin:14px 0 0}.providers .or::before,.providers .or::after{content:'';flex:1;border-top:1px solid #dde3ee}
.error{background:#fdecec;border:1px solid #f2b8b8;color:#8c1d1d;padding:10px 14px;border-radius:6px;margin-bottom:16px}
.notice{background:#eaf6ee;border:1px solid #b6dfc3;color:#1d5c31;padding:10px 14px;border-radius:6px;margin-bottom:16px}
.secret{font-family:ui-monospace,Menlo,Consolas,monospace;background:#fff8e1;border:1px dashed #e0b84c;padding:10px 12px;border-radius:6px;word-break:break-all;display:block;margin:6px 0 12px}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px;background:#eef1f7;padding:1px 5px;border-radius:4px}
.muted{color:#6b7690;font-size:13px}.tag{display:inline-block;font-size:12px;padding:1px 8px;border-radius:10px;background:#e8edf8;color:#2f4b9a;margin-right:4px}
.tag.ok{background:#e3f4e8;color:#1d6a36}.tag.warn{background:#fff2d6;color:#8a5a00}
.msg{border-bottom:1px solid #e6eaf2;padding:8px 0}.msg b{margin-right:8px}
.auth{max-width:420px;margin:70px auto}.auth h1{text-align:center}.auth .brandbig{text-align:center;font-size:28px;font-weight:800;color:#16203a;margin-bottom:18px}
.steps li{margin:6px 0}fieldset{border:1px solid #dde3ee;border-radius:6px;margin:12px 0;padding:4px 14px 14px}legend{font-weight:600;padding:0 6px}.qr{background:#fff;display:inline-block;padding:6px;border:1px solid #dde3ee;border-radius:6px}.qr svg{display:block;width:200px;height:200px}
.crumbs{font-size:13px;color:#6b7690;margin:0 0 8px}.crumbs a{color:#4a5a80}.crumbs span+span:before{content:"›";margin:0 6px;color:#9aa5bf}
.copyable{display:flex;gap:8px;align-items:flex-start;flex-wrap:wrap}.copyable>code,.copyable>.secret{flex:1 1 auto;min-width:0}
button.copy{margin:0;padding:3px 10px;font-size:12px;background:#e8edf8;color:#2f5bd3;flex:0 0 auto}button.copy::after{content:"Copy"}button.copy.copied::after{content:"Copied"}button.copy.failed::after{content:"Select and copy"}.secret+button.copy{margin-top:6px}
.field-error{color:#8c1d1d;font-size:13px;margin:4px 0 0}input[aria-invalid=true],textarea[aria-invalid=true]{border-color:#c93a3a}
.nav-toggle,.nav-button{display:none}
@media (max-width:800px){
.shell{flex-direction:column}.side{width:auto;padding:10px 0}.side .brand{padding:0 16px;display:inline-block}
.nav-button{display:inline-block;float:right;margin:0 12px 0 0;padding:4px 12px;border:1px solid #3a4a74;border-radius:6px;color:#c9d3ea;cursor:pointer;font-size:14px}
.side .links{display:none;margin-top:10px}.nav-toggle:checked~.links{display:block}.side .who{padding:12px 16px 0;margin-top:10px}
main{padding:20px 14px}h1{font-size:21px}.auth{margin:24px auto;padding:0 12px}.card{padding:16px 14px}
th,td{padding:6px 8px}td:has(>form.inline),td code{white-space:normal}form.inline+form.inline{margin-left:0}
}`);

const NAV: [string, string][] = [
  ['dashboard', '/dashboard'], ['phones', '/phones'], ['organisations', '/orgs'], ['groups', '/groups'], ['connectors', '/connectors'], ['projects', '/projects'], ['memberships', '/memberships'],
];
const NAV_LABEL: Record<string, string> = { dashboard: 'Dashboard', phones: 'Phone numbers', organisations: 'Organisations', groups: 'Groups', connectors: 'Connectors', projects: 'Projects', memberships: 'Platform memberships', outbox: 'SMS outbox', 'mail-outbox': 'E-mail outbox', consents: 'App consents', account: 'Account' };

export function csrfField(csrf: string): SafeHtml {
  return html`<input type="hidden" name="_csrf" value="${csrf}">`;
}

/** A value with a button that puts it on the clipboard (portal.js). */
export function copyable(id: string, value: string, secret = false): SafeHtml {
  return html`<div class="copyable">${secret ? html`<span class="secret" id="${id}">${value}</span>` : html`<code id="${id}">${value}</code>`}<button type="button" class="copy" data-copy="${id}" aria-label="Copy"></button></div>`;
}

/** A moment as pages show it: UTC, to the minute (2026-12-01 15:40). */
export const atMinute = (ms: number): string => new Date(ms).toISOString().slice(0, 16).replace('T', ' ');

/** A table that scrolls inside its box on a narrow screen instead of widening the page. */
export const table = (rows: SafeHtml, attrs: SafeHtml = html``): SafeHtml => html`<div class="table"><table ${attrs}>${rows}</table></div>`;

/** "1 phone number", "2 phone numbers". */
export const count = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

function flashBox(flash: Flash): SafeHtml {
  return html`<div class="notice" role="status" id="flash"><b>${flash.notice}</b>
${(flash.secrets ?? []).map((s) => html`<label>${s.label}</label>${copyable(s.id, s.value, true)}`)}${flash.note ? html`<p class="muted">${flash.note}</p>` : ''}</div>`;
}

function crumbs(list: [string, string?][]): SafeHtml {
  return html`<nav class="crumbs" aria-label="Breadcrumb">${list.map(([label, href]) => html`<span>${href ? html`<a href="${href}">${label}</a>` : label}</span>`)}</nav>`;
}

/** The platform's colour on buttons, links and focus; its logo and name over the card. */
function themed(theme: Theme, top: SafeHtml, body: SafeHtml, who: PageContext['user'], csrf: string): SafeHtml {
  const support = theme.support ? (theme.support.startsWith('https://') ? html`<a href="${theme.support}">Help</a>` : html`<a href="mailto:${theme.support}">${theme.support}</a>`) : '';
  return html`<style>a{color:${theme.color}}button:not(.secondary):not(.danger):not(.copy),.button{background:${theme.color}}button.secondary{color:${theme.color}}.brandbig img{max-height:56px;max-width:240px;display:block;margin:0 auto 8px}.wl-foot{text-align:center;margin-top:18px}</style>
<div class="auth"><div class="brandbig">${theme.logo ? html`<img src="${theme.logo}" alt="">` : ''}${theme.name}</div>${top}${body}
<div class="wl-foot muted">${who ? html`<form class="inline" method="post" action="${theme.base}/logout">${csrfField(csrf)}<input type="hidden" name="next" value="${theme.here}">Signed in as ${who.email} <button class="secondary" type="submit">Not you?</button></form> · ` : ''}${support}${support ? ' · ' : ''}powered by Tessera</div></div>`;
}

export function page(ctx: PageContext, body: SafeHtml): string {
  const nav: [string, string][] = [...NAV, ...(ctx.showOutbox ? [['outbox', '/outbox'] as [string, string]] : []),
    ...(ctx.showMailOutbox ? [['mail-outbox', '/mail-outbox'] as [string, string]] : []), ['consents', '/consents'], ['account', '/account']];
  const top = html`${ctx.crumbs?.length ? crumbs(ctx.crumbs) : ''}${ctx.flash ? flashBox(ctx.flash) : ''}`;
  return html`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${ctx.title} · ${ctx.theme?.name ?? 'Tessera'}</title><link rel="icon" href="/favicon.svg" type="image/svg+xml"><style>${STYLE}</style><script src="/assets/portal.js" defer></script></head><body>
${ctx.theme ? themed(ctx.theme, top, body, ctx.user, ctx.csrf) : ctx.user ? html`<div class="shell"><nav class="side" aria-label="Main"><div class="brand">Tess<span>era</span></div>
<input type="checkbox" id="nav-toggle" class="nav-toggle"><label for="nav-toggle" class="nav-button">Menu</label><div class="links">
${nav.map(([key, href]) => html`<a href="${href}" class="${ctx.active === key ? 'on' : ''}">${NAV_LABEL[key]}</a>`)}
<div class="who">${ctx.user.name}<br>${ctx.user.email}
<form method="post" action="/logout">${csrfField(ctx.csrf)}<button class="secondary" type="submit">Log out</button></form></div></div></nav>
<main>${top}${body}</main></div>` : html`<div class="auth"><div class="brandbig">Tessera</div>${top}${body}</div>`}
</body></html>`.value;
}
