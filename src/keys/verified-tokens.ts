// Payloads of JWTs whose signature and claims were verified before. ECDSA verification was the
// largest cost of a platform API request, and a connector presents the same access token for up
// to 24 hours. A signature never changes, so a verified token stays verified; its expiry is still
// checked on every use, and revocation is decided by the caller from the database (the grant
// row), as without this cache. Retired signing keys stay published until every token they signed
// has expired, so no remembered token outlives its key. Bounded; the oldest entry goes first.
import type { JWTPayload } from 'jose';

export class VerifiedTokens {
  private readonly tokens = new Map<string, JWTPayload>();

  constructor(private readonly max = 20_000) {}

  /** The payload, if this exact token was verified before; 'expired' once its exp has passed. */
  get(token: string, nowMs: number): JWTPayload | 'expired' | undefined {
    const p = this.tokens.get(token);
    if (!p) return undefined;
    // The same test as jose's: expired when exp <= now, in whole seconds.
    if (typeof p.exp === 'number' && p.exp <= Math.floor(nowMs / 1000)) {
      this.tokens.delete(token);
      return 'expired';
    }
    return p;
  }

  remember(token: string, payload: JWTPayload): void {
    if (this.tokens.size >= this.max) this.tokens.delete(this.tokens.keys().next().value!);
    this.tokens.set(token, payload);
  }
}
