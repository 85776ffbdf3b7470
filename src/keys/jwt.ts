// Signing and verifying Tessera's JWTs with the current signing keys.
import { SignJWT, jwtVerify, errors, type JWTPayload, type JWTHeaderParameters } from 'jose';
import type { SigningKeys } from './signing-keys.js';

export interface SignOptions {
  typ: string;
  issuer: string;
  audience: string | string[];
  subject: string;
  jti: string;
  issuedAt: number;
  expiresAt: number;
}

export async function signJwt(keys: SigningKeys, claims: JWTPayload, opts: SignOptions): Promise<string> {
  const key = await keys.signingKey();
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: opts.typ })
    .setIssuer(opts.issuer)
    .setAudience(opts.audience)
    .setSubject(opts.subject)
    .setJti(opts.jti)
    .setIssuedAt(Math.floor(opts.issuedAt / 1000))
    .setExpirationTime(Math.floor(opts.expiresAt / 1000))
    .sign(key.privateKey);
}

export type VerifyFailure = 'expired' | 'invalid';

export interface VerifyOptions {
  issuer: string;
  audience?: string;
  typ: string;
  now: number;
}

/** Verifies signature, typ, iss, aud and exp; answers the payload or why it failed. */
export async function verifyJwt(
  keys: SigningKeys,
  token: string,
  opts: VerifyOptions,
): Promise<{ ok: true; payload: JWTPayload; header: JWTHeaderParameters } | { ok: false; reason: VerifyFailure }> {
  try {
    const { payload, protectedHeader } = await jwtVerify(
      token,
      async (header) => {
        const key = await keys.verificationKey(header.kid);
        if (!key || key.alg !== header.alg) throw new errors.JWKSNoMatchingKey();
        return key.publicKey;
      },
      {
        issuer: opts.issuer,
        ...(opts.audience ? { audience: opts.audience } : {}),
        typ: opts.typ,
        algorithms: ['ES256'],
        currentDate: new Date(opts.now),
      },
    );
    return { ok: true, payload, header: protectedHeader };
  } catch (err) {
    if (err instanceof errors.JWTExpired) return { ok: false, reason: 'expired' };
    return { ok: false, reason: 'invalid' };
  }
}
