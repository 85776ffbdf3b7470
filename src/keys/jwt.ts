// Signing and verifying Tessera's JWTs with the current signing keys.
import { KeyObject } from 'node:crypto';
import { SignJWT, jwtVerify, errors, type JWTPayload, type JWTHeaderParameters } from 'jose';
import type { SigningKeys } from './signing-keys.js';
import { SigningThread } from './signing-thread.js';

// ES256 signatures are made with node:crypto directly: jose goes through WebCrypto, whose
// promise-based job costs about 4× the signature itself (≈ 290 µs against ≈ 60 µs per token on
// the benchmark machine, and a fifth of the token service's CPU). They are made on a thread of
// their own, a turn's worth at a time (signing-thread.ts), not on the event loop. Same bytes on the
// wire: a JWS compact serialisation with the raw r||s (IEEE P1363) signature that JWS requires.
const keyObjects = new WeakMap<CryptoKey, KeyObject>();

const signingThread = new SigningThread();
const b64json = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
// The protected header only depends on the key and the token type: encoded once for each.
const encodedHeaders = new Map<string, string>();

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
  if (key.alg === 'ES256') {
    let keyObject = keyObjects.get(key.privateKey);
    if (!keyObject) {
      keyObject = KeyObject.from(key.privateKey);
      keyObjects.set(key.privateKey, keyObject);
    }
    const headerKey = `${key.kid} ${opts.typ}`;
    let header = encodedHeaders.get(headerKey);
    if (!header) {
      header = b64json({ alg: key.alg, kid: key.kid, typ: opts.typ });
      encodedHeaders.set(headerKey, header);
    }
    const payload = {
      ...claims, iss: opts.issuer, aud: opts.audience, sub: opts.subject, jti: opts.jti,
      iat: Math.floor(opts.issuedAt / 1000), exp: Math.floor(opts.expiresAt / 1000),
    };
    const input = `${header}.${b64json(payload)}`;
    return `${input}.${await signingThread.sign(input, keyObject)}`;
  }
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
