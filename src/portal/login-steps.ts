// What follows a right password, for the portal's log-in and a platform's: with two-factor
// authentication on, the log-in is held (Portal.holdLogin) and the code page asks for a TOTP or
// recovery code; otherwise, or once the code is right, the session starts and the person goes on.
// An identity provider's account waiting to be linked to this account (federation/) is linked then.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type Portal } from './session.js';
import { clientOf } from '../http/client.js';
import { codeForm } from './views/auth-forms.js';
import type { FormFailure } from './forms.js';
import { takePendingLink } from '../federation/pages.js';

/** The code step's form: six digits or a recovery code (spaces allowed). */
export const CodeBody = { type: 'object', properties: { _csrf: { type: 'string' }, code: { type: 'string', maxLength: 20 } }, required: ['_csrf', 'code'] } as const;

/** Starts the session, or holds the log-in and sends the person to `${prefix}/login/code`. */
export async function afterPassword(portal: Portal, req: FastifyRequest, reply: FastifyReply, userId: string, next: string, prefix = ''): Promise<FastifyReply> {
  if (await portal.services.twoFactor.enabled(userId)) {
    portal.holdLogin(req, reply, userId, next);
    return portal.done(req, reply, `${prefix}/login/code`);
  }
  const link = takePendingLink(portal, req, reply);
  await portal.startSession(req, reply, userId);
  const linked = await link(userId);
  return portal.done(req, reply, next, linked ? { notice: linked } : undefined);
}

/** The code page; without a held log-in, back to the log-in page. */
export async function showCodeStep(portal: Portal, req: FastifyRequest, reply: FastifyReply, prefix = '', failure?: FormFailure): Promise<FastifyReply> {
  if (!portal.heldLogin(req)) return reply.redirect(`${prefix}/login`, 303);
  return portal.render(reply, portal.ctx(req, 'Two-factor authentication'), codeForm(req.csrfToken!, failure, prefix), failure?.status ?? 200);
}

/** Checks the code of the held log-in; the session starts only when it is right. */
export async function submitCode(portal: Portal, req: FastifyRequest, reply: FastifyReply, code: string, prefix = ''): Promise<FastifyReply> {
  const held = portal.heldLogin(req);
  if (!held) return reply.redirect(`${prefix}/login`, 303);
  const user = await portal.services.accounts.getUser(held.userId);
  if (!user) return reply.redirect(`${prefix}/login`, 303);
  const kind = await portal.services.twoFactor.verify(user, code, clientOf(req));
  portal.releaseLogin(reply);
  const link = takePendingLink(portal, req, reply);
  await portal.startSession(req, reply, user.id, true);
  const linked = await link(user.id);
  const left = kind === 'recovery' ? (await portal.services.twoFactor.status(user.id)).recoveryLeft : undefined;
  const notices = [linked, left === undefined ? undefined : `Logged in with a recovery code: ${left} left. Make new ones by turning two-factor authentication off and on again.`].filter(Boolean);
  return portal.done(req, reply, held.next, notices.length ? { notice: notices.join(' ') } : undefined);
}
