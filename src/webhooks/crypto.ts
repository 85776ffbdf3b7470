// Secrets a webhook needs in the clear at delivery time are never stored in the clear:
// - the connector's callBackToken is encrypted with AES-256-GCM under an instance key;
// - the signing secret is not stored at all: it is derived as HMAC(instance key, webhook id).
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

export function encrypt(key: Buffer, plaintext: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return `v1.${iv.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}.${body.toString('base64url')}`;
}

export function decrypt(key: Buffer, sealed: string): string {
  const [v, iv, tag, body] = sealed.split('.');
  if (v !== 'v1' || !iv || !tag || body === undefined) throw new Error('unknown sealed format');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
}

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
