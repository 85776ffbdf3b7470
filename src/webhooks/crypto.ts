// Secrets a webhook needs in the clear at delivery time are never stored in the clear:
// - the connector's callBackToken is encrypted with AES-256-GCM under an instance key (lib/aead.ts);
// - the signing secret is not stored at all: it is derived as HMAC(instance key, webhook id).
import { createHmac } from 'node:crypto';

/** The Standard Webhooks signing secret of one webhook (`whsec_` + base64 of 32 bytes). */
export function signingSecret(key: Buffer, webhookId: string): string {
  return `whsec_${createHmac('sha256', key).update(`webhook-signing:${webhookId}`).digest('base64')}`;
}

/**
 * Standard Webhooks signature: base64 HMAC-SHA256 over "id.timestamp.body" with the secret's
 * bytes, sent as `webhook-signature: v1,<sig>` with `webhook-id` and `webhook-timestamp`.
 */
export function sign(secret: string, id: string, timestampSec: number, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestampSec}.${body}`).digest('base64')}`;
}
