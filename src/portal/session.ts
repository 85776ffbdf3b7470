// Cookie sessions and CSRF for the portal. The session cookie holds a random token whose SHA-256
// is the database key. CSRF tokens are HMAC(instance key, session or anonymous cookie), checked
// on every POST, with the Origin header checked as well when a browser sends it.
import { createHmac, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../services.js';
import type { Actor } from '../auth/policy.js';
import type { User } from '../accounts/accounts.service.js';
import { safeEqual } from '../lib/hash.js';
import { decrypt, encrypt } from '../lib/aead.js';
import { ApiError } from '../lib/errors.js';
import { clientError } from '../http/errors.js';
import { fastifyCookie } from '@fastify/cookie';
import multipart from '@fastify/multipart';
import { page, type Flash, type PageContext, type Theme } from './views/layout.js';
import { FLASH_COOKIE, FLASH_MAX_AGE_S, FlashSealer } from './flash.js';
import type { SafeHtml } from '../lib/html.js';
import { clientOf } from '../http/client.js';

export const SESSION_COOKIE = 'tessera_session';
/** The body of a form that carries nothing but its CSRF token (the delete, rotate, … buttons). */
export const CsrfOnly = { type: 'object', properties: { _csrf: { type: 'string' } }, required: ['_csrf'] } as const;
export const ANON_COOKIE = 'tessera_anon';
/** A log-in whose password was right, waiting for its second factor (Portal.holdLogin). */
export const HELD_LOGIN_COOKIE = 'tessera_2fa';
const HELD_LOGIN_MS = 5 * 60_000;

declare module 'fastify' {
  interface FastifyRequest {
    user?: User;
    /** Whether this session's log-in passed a second factor (auth/second-factor.ts). */
    secondFactor?: boolean;
    csrfToken?: string;
    /** What this browser's CSRF token and flash are bound to: the session token, or the anonymous cookie. */
    binding?: string;
    /** The one-time message a redirect left for this page (flash.ts). */
    flash?: Flash;
    /** A white-label platform's look, for the pages under /{platform}/ (platforms/white-label.ts). */
    theme?: Theme;
  }
}

export class Portal {
  private readonly flashes: FlashSealer;

  constructor(readonly services: Services, private readonly csrfKey: Buffer) {
    this.flashes = new FlashSealer(csrfKey);
  }

  private cookieOptions(maxAgeSec: number) {
    return { path: '/', httpOnly: true, sameSite: 'lax' as const, secure: this.services.deps.config.secureCookies, maxAge: maxAgeSec };
  }

  /**
   * onRequest hook: resolve the session and the CSRF token; set interactive-page headers. An error
   * page outside the cookie plugin's scope (`setsCookies` false) reads the session only.
   */
  async load(req: FastifyRequest, reply: FastifyReply, setsCookies = true): Promise<void> {
    const sessionToken = req.cookies[SESSION_COOKIE];
    const session = await this.services.accounts.session(sessionToken);
    req.user = session?.user;
    req.secondFactor = session?.secondFactor;
    let binding = req.user ? sessionToken : req.cookies[ANON_COOKIE];
    if (!binding) {
      binding = randomBytes(18).toString('base64url');
      if (setsCookies) void reply.setCookie(ANON_COOKIE, binding, this.cookieOptions(24 * 3600));
    }
    req.binding = binding;
    req.csrfToken = createHmac('sha256', this.csrfKey).update(binding).digest('base64url');
    const sealedFlash = req.cookies[FLASH_COOKIE];
    if (sealedFlash !== undefined && req.method === 'GET') {
      req.flash = this.flashes.open(sealedFlash, binding);
      if (setsCookies) void reply.clearCookie(FLASH_COOKIE, { path: '/' });
    }
    // Interactive pages must not be framed (clickjacking) nor cached.
    void reply.header('x-frame-options', 'DENY')
      // img-src https: for a platform's logo kept at its own address.
    .header('content-security-policy', "default-src 'self'; img-src 'self' https:; style-src 'unsafe-inline'; frame-ancestors 'none'; form-action 'self' http: https:")
      .header('x-content-type-options', 'nosniff')
      // same-origin, not no-referrer: under no-referrer Chromium sends `Origin: null` on form posts and
      // checkCsrf's origin check refuses every form; other sites still receive no referrer.
      .header('referrer-policy', 'same-origin')
      .header('cache-control', 'no-store');
  }

  /** preHandler for POST: the form must carry the CSRF token of this browser. */
  checkCsrf(req: FastifyRequest): void {
    const body = req.body as Record<string, unknown> | undefined;
    const token = typeof body?._csrf === 'string' ? body._csrf : '';
    const origin = req.headers.origin;
    const expectedOrigin = new URL(this.services.deps.config.publicUrl).origin;
    const sameOrigin = !origin || origin === expectedOrigin || origin === `${req.protocol}://${req.host}`;
    if (!token || !safeEqual(token, req.csrfToken ?? '') || !sameOrigin) {
      throw new ApiError('forbidden', 'The form has expired or did not come from this site; reload the page and try again');
    }
  }

  /**
   * The password was right and a code is still needed: who, and where to go after, wait in a
   * sealed cookie bound to this browser for five minutes (no session exists until the code).
   */
  holdLogin(req: FastifyRequest, reply: FastifyReply, userId: string, next: string): void {
    this.sealCookie(req, reply, HELD_LOGIN_COOKIE, { u: userId, n: next }, HELD_LOGIN_MS);
  }

  /** The log-in waiting for its code, if this browser has one that has not expired. */
  heldLogin(req: FastifyRequest): { userId: string; next: string } | undefined {
    const v = this.openCookie<{ u: string; n: string }>(req, HELD_LOGIN_COOKIE);
    return v ? { userId: v.u, next: v.n } : undefined;
  }

  /**
   * A value kept in a cookie between two steps of a log-in: sealed with the instance key, bound to
   * this browser (its session or anonymous cookie) and to the cookie's name, and good for `ms`.
   */
  sealCookie(req: FastifyRequest, reply: FastifyReply, name: string, value: object, ms: number): void {
    const sealed = JSON.stringify({ v: value, e: this.services.deps.clock.now() + ms });
    void reply.setCookie(name, encrypt(this.csrfKey, sealed, `${name}\n${req.binding ?? ''}`), this.cookieOptions(Math.ceil(ms / 1000)));
  }

  /** What sealCookie kept, if this browser has it and it has not expired. */
  openCookie<T>(req: FastifyRequest, name: string): T | undefined {
    const sealed = req.cookies[name];
    if (!sealed) return undefined;
    try {
      const v = JSON.parse(decrypt(this.csrfKey, sealed, `${name}\n${req.binding ?? ''}`)) as { v: T; e: number };
      return v.e > this.services.deps.clock.now() ? v.v : undefined;
    } catch {
      return undefined;
    }
  }

  clearCookie(reply: FastifyReply, name: string): void {
    void reply.clearCookie(name, { path: '/' });
  }

  releaseLogin(reply: FastifyReply): void {
    this.clearCookie(reply, HELD_LOGIN_COOKIE);
  }

  /** `secondFactor`: the log-in passed a code, or the identity provider asserted MFA. */
  async startSession(req: FastifyRequest, reply: FastifyReply, userId: string, secondFactor = false): Promise<void> {
    const token = await this.services.accounts.createSession(userId, secondFactor);
    void reply.setCookie(SESSION_COOKIE, token, this.cookieOptions(14 * 24 * 3600));
    req.binding = token;
  }

  /**
   * The answer to a form post that did what it asked (post/redirect/get): 303 to the page that
   * shows the result, with an optional one-time message for it (flash.ts).
   */
  done(req: FastifyRequest, reply: FastifyReply, location: string, flash?: Flash): FastifyReply {
    if (flash) void reply.setCookie(FLASH_COOKIE, this.flashes.seal(flash, req.binding ?? ''), this.cookieOptions(FLASH_MAX_AGE_S));
    return reply.redirect(location, 303);
  }

  async endSession(req: FastifyRequest, reply: FastifyReply): Promise<void> {
    await this.services.accounts.endSession(req.cookies[SESSION_COOKIE], clientOf(req));
    void reply.clearCookie(SESSION_COOKIE, { path: '/' });
    // The browser is anonymous from here: a flash set now is bound to its new anonymous cookie.
    const anon = randomBytes(18).toString('base64url');
    void reply.setCookie(ANON_COOKIE, anon, this.cookieOptions(24 * 3600));
    req.binding = anon;
  }

  async actor(req: FastifyRequest): Promise<Actor> {
    const actor = await this.services.accounts.actor(req.user!.id, req.secondFactor ?? false);
    return { ...actor, client: clientOf(req) };
  }

  ctx(req: FastifyRequest, title: string, active?: string, crumbs?: [string, string?][]): PageContext {
    return {
      title, user: req.user, csrf: req.csrfToken ?? '', active, showOutbox: this.services.deps.config.sms.provider === 'outbox', showMailOutbox: !this.services.deps.config.mail.smtpUrl,
      flash: req.flash, theme: req.theme,
      ...(crumbs ? { crumbs } : {}),
    };
  }

  render(reply: FastifyReply, ctx: PageContext, body: SafeHtml, status = 200): FastifyReply {
    return reply.code(status).type('text/html; charset=utf-8').send(page(ctx, body));
  }

  /**
   * An error as a page. What the client got wrong is answered with its own 4xx and logged at
   * info by the request log only; anything else is a fault here, logged as an error, and its
   * internals are not shown.
   */
  async renderError(req: FastifyRequest, reply: FastifyReply, err: unknown, errors: ErrorPage): Promise<FastifyReply> {
    // Errors raised before the scope's hooks ran (an unknown path, a URL that cannot be decoded)
    // have no session yet: resolve it so the page keeps the person's menu.
    if (req.csrfToken === undefined) {
      (req as { cookies: Record<string, string | undefined> }).cookies ??= fastifyCookie.parse(req.headers.cookie ?? '');
      await this.load(req, reply, false);
    }
    // A malformed identifier in the address names nothing: the page does not exist.
    const e = (err as { validationContext?: string }).validationContext === 'params'
      ? new ApiError('not_found', 'Nothing exists at this address; check the link, or start again from the dashboard.')
      : clientError(err, 'a form (application/x-www-form-urlencoded)');
    // An organisation that requires two-factor authentication sends its member to enrolment.
    if (e?.code === 'two_factor_required' && req.method === 'GET' && req.user) return this.done(req, reply, '/account#two-factor', { notice: e.message });
    if (e?.retryAfter) void reply.header('retry-after', String(e.retryAfter));
    if (!e) req.log.error({ err }, errors.logMessage);
    const status = e?.status ?? 500;
    const message = e?.message ?? 'Something went wrong on our side; it has been logged.';
    return this.render(reply, this.ctx(req, errors.title), errors.body(message, status), status);
  }
}

/** Only same-site relative paths are followed after log-in (no open redirects). */
export function safeNext(next: unknown): string {
  return typeof next === 'string' && /^\/(?![/\\])/.test(next) ? next : '/dashboard';
}

/** How a scope of pages answers an error: the page's title and body, and what its log line says. */
export interface ErrorPage {
  title: string;
  body: (message: string, status: number) => SafeHtml;
  logMessage: string;
}

/**
 * Makes a Fastify scope serve portal pages (the portal itself, the OAuth sign-in and consent
 * pages): every request resolves its session, every POST passes the CSRF check before schema
 * validation (a forged form is refused as forged whatever else it lacks), and errors are pages.
 */
export function servePortalPages(scope: FastifyInstance, portal: Portal, errors: ErrorPage): void {
  // Pages take forms only: a JSON or text body is nothing a page sent (415, not a parse error).
  scope.removeContentTypeParser(['application/json', 'text/plain']);
  scope.addHook('onRequest', (req, reply) => portal.load(req, reply));
  scope.addHook('preValidation', async (req) => {
    // Upload forms are checked by their own scope, once their multipart body is read (below).
    if (req.method === 'POST' && !(req.routeOptions.config as { uploadForm?: boolean }).uploadForm) portal.checkCsrf(req);
  });
  scope.setErrorHandler((err, req, reply) => portal.renderError(req, reply, err, errors));
}

/**
 * Makes a scope inside servePortalPages take upload forms (multipart/form-data, a logo): the
 * body's fields become strings and the file a Buffer, and the CSRF check runs once the body is
 * read — every route of the scope is marked, so none can escape the check. The file's size is
 * limited here; what it is, by the service that takes it.
 */
export async function serveUploadForms(scope: FastifyInstance, portal: Portal, maxFileBytes: number): Promise<void> {
  scope.addHook('onRoute', (route) => {
    route.config = { ...(route.config ?? {}), uploadForm: true } as typeof route.config;
  });
  await scope.register(multipart, { limits: { fileSize: maxFileBytes, files: 1, fields: 30, fieldSize: 16 * 1024, parts: 31 } });
  scope.addHook('preValidation', async (req) => {
    if (req.isMultipart()) req.body = await readUploadForm(req, maxFileBytes);
    if (req.method === 'POST') portal.checkCsrf(req);
  });
}

/** A multipart body as the form's fields (text) and file (a Buffer); a broken body is the client's error. */
async function readUploadForm(req: FastifyRequest, maxFileBytes: number): Promise<Record<string, unknown>> {
  const body: Record<string, unknown> = {};
  const put = (name: string, value: unknown) => {
    const had = body[name];
    body[name] = had === undefined ? value : Array.isArray(had) ? [...had, value] : [had, value];
  };
  try {
    for await (const part of req.parts()) {
      if (part.type === 'file') put(part.fieldname, await part.toBuffer());
      else put(part.fieldname, typeof part.value === 'string' ? part.value : String(part.value));
    }
  } catch (err) {
    if ((err as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE') {
      throw new ApiError('payload_too_large', `The file is larger than the ${Math.round(maxFileBytes / 1024)} KB this form takes; go back and pick a smaller one.`, { field: 'file' });
    }
    // Too many parts and the like carry their status; a body that ends early or has no parts does not.
    if ((err as { statusCode?: number }).statusCode) throw err;
    throw new ApiError('validation_failed', 'body: is not a complete multipart/form-data form', { field: 'body' });
  }
  return body;
}
