// Two-factor enrolment as a person does it in the portal, the code computed from the secret the
// page shows (as an authenticator app would).
import assert from 'node:assert/strict';
import { Secret, TOTP } from 'otpauth';
import type { PortalClient } from '../helpers/portal.js';
import type { TestClock } from '../../src/lib/clock.js';

export const codeAt = (secret: string, ms: number): string => new TOTP({ secret: Secret.fromBase32(secret), digits: 6, period: 30 }).generate({ timestamp: ms });

/** Turns two-factor authentication on for the signed-in person; answers the secret and recovery codes. */
export async function enrolTwoFactor(p: PortalClient, clock: TestClock): Promise<{ secret: string; recovery: string[] }> {
  await p.get('/account');
  const start = await p.post('/account/two-factor', {});
  assert.equal(start.statusCode, 303);
  const secret = /id="totp-secret">([A-Z2-7]+)</.exec((await p.follow(start)).body)![1]!;
  const ok = await p.post('/account/two-factor/confirm', { code: codeAt(secret, clock.now()) });
  assert.equal(ok.statusCode, 303, ok.body.slice(0, 300));
  const recovery = /id="recovery-codes">([^<]+)</.exec((await p.follow(ok)).body)![1]!.split(' ');
  return { secret, recovery };
}
