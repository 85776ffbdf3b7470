// Platform logos: an uploaded image or an https URL. An upload is recognised by its first bytes,
// never by the name or type the browser claims, and only raster formats are taken: an SVG can
// carry script, and the logo is served from Tessera's own origin.
import { invalid } from '../lib/errors.js';

export const LOGO_MAX_BYTES = 256 * 1024;
export const LOGO_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'] as const;
export type LogoType = (typeof LOGO_TYPES)[number];

export function sniffImage(bytes: Buffer): LogoType | undefined {
  if (bytes.length >= 8 && bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (bytes.length >= 6 && /^GIF8[79]a$/.test(bytes.subarray(0, 6).toString('latin1'))) return 'image/gif';
  if (bytes.length >= 12 && bytes.subarray(0, 4).toString('latin1') === 'RIFF' && bytes.subarray(8, 12).toString('latin1') === 'WEBP') return 'image/webp';
  return undefined;
}

export function checkLogo(bytes: Buffer): LogoType {
  if (bytes.length > LOGO_MAX_BYTES) throw invalid('logo', `must be at most ${LOGO_MAX_BYTES / 1024} KB`);
  const type = sniffImage(bytes);
  if (!type) throw invalid('logo', 'must be a PNG, JPEG, GIF or WebP image');
  return type;
}

export function checkLogoUrl(raw: string): string | null {
  const value = raw.trim();
  if (!value) return null;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid('logo_url', 'must be an https URL');
  }
  if (url.protocol !== 'https:' || url.username || url.password) throw invalid('logo_url', 'must be an https URL without credentials');
  if (value.length > 2000) throw invalid('logo_url', 'must be at most 2000 characters');
  return url.toString();
}
