// Secrets a webhook needs in the clear at delivery time are never stored in the clear:
// - the connector's callBackToken is encrypted with AES-256-GCM under an instance key (lib/aead.ts);
// - the signing secret is not stored at all: it is derived as HMAC(instance key, webhook id).
import { createHmac } from 'node:crypto';

/** The Standard Webhooks signing secret of one webhook (`whsec_` + base64 of 32 bytes). */
export function signingSecret(key: Buffer, webhookId: string): string {
  return `whsec_${createHmac('sha256', key).update(`webhook-signing:${webhookId}`).digest('base64')}`;
}

/** A platform's event-signing secret, derived the same way from its id. */
export function platformSigningSecret(key: Buffer, platformId: string): string {
  return `whsec_${createHmac('sha256', key).update(`platform-events:${platformId}`).digest('base64')}`;
}

/** Zaikio's Loom signature: hex HMAC-SHA256 over the raw body with the shared secret. */
export function loomSignature(secret: string, body: string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/**
 * Standard Webhooks signature: base64 HMAC-SHA256 over "id.timestamp.body" with the secret's
 * bytes, sent as `webhook-signature: v1,<sig>` with `webhook-id` and `webhook-timestamp`.
 */
export function sign(secret: string, id: string, timestampSec: number, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestampSec}.${body}`).digest('base64')}`;
}
