// One-time messages across a redirect (post/redirect/get). A successful form post answers 303 to
// a page; what that page must say once — "Connector created", and a new secret shown only this
// time — travels in a short-lived cookie, AES-256-GCM-encrypted under a key derived from the
// instance secret and bound to the browser's session (or anonymous) cookie, so it opens only
// there. The next page shown takes it and clears it: a reload shows the page without it, and a
// secret never appears in a URL or in the clear anywhere but on that one page.
import { createHmac } from 'node:crypto';
import { decrypt, encrypt } from '../lib/aead.js';
import type { Flash } from './views/layout.js';

export const FLASH_COOKIE = 'tessera_flash';
/** Long enough for the redirect to be followed, short enough that an unread secret does not linger. */
export const FLASH_MAX_AGE_S = 120;

export class FlashSealer {
  private readonly key: Buffer;

  constructor(instanceKey: Buffer) {
    this.key = createHmac('sha256', instanceKey).update('portal flash').digest();
  }

  seal(flash: Flash, binding: string): string {
    return encrypt(this.key, JSON.stringify(flash), `flash\n${binding}`);
  }

  /** The flash, or undefined when the cookie is not one this browser's session sealed. */
  open(sealed: string, binding: string): Flash | undefined {
    try {
      return JSON.parse(decrypt(this.key, sealed, `flash\n${binding}`)) as Flash;
    } catch {
      return undefined;
    }
  }
}
