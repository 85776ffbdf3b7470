// Credentials of the domain API and the input rules for provisioned users.
// Keys and secrets keep Kandy's three-letter prefixes (AAK/AAS account, DAK/DAS domain, UAK/UAS
// user, AAT/DAT/UAT access tokens), so existing clients see familiar strings and a leaked value
// says what it is. Keys are public identifiers; secrets and tokens are stored only as SHA-256.
import { randomBytes, randomInt } from 'node:crypto';
import { getCountries, getCountryCallingCode, isSupportedCountry } from 'libphonenumber-js/max';
import { ApiError, invalid } from '../lib/errors.js';

export type KeyPrefix = 'AAK' | 'AAS' | 'DAK' | 'DAS' | 'UAK' | 'UAS';
export type TokenPrefix = 'AAT' | 'DAT' | 'UAT';

/** 128 random bits in hex after the prefix: the shape of the seed's UAK…/UAS… values. */
export const newKey = (prefix: KeyPrefix): string => `${prefix}${randomBytes(16).toString('hex')}`;

/** Access tokens get 256 bits: they are bearer credentials that travel in URLs. */
export const newToken = (prefix: TokenPrefix): string => `${prefix}${randomBytes(32).toString('hex')}`;

export const KEY_RE = /^(AAK|DAK|UAK)[0-9a-f]{32}$/;

/** A missing parameter: Kandy status 3. */
export const missing = (field: string): ApiError => new ApiError('validation_failed', `${field}: is required`, { field, missing: true });

// ---- passwords ----

export const PASSWORD_POLICY = 'given passwords must be 8 to 20 characters with at least one letter and at least two digits';
export const GENERATED_PASSWORD_LENGTH = 16;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

const meetsPolicy = (p: string): boolean => p.length >= 8 && p.length <= 20 && /[A-Za-z]/.test(p) && (p.match(/[0-9]/g)?.length ?? 0) >= 2;

/** The rule one Kandy client published; a weak given password is refused, never fixed up. */
export function checkGivenPassword(password: string): void {
  if (!meetsPolicy(password)) throw invalid('user_password', PASSWORD_POLICY);
}

/**
 * 16 characters drawn uniformly from [A-Za-z0-9] (about 95 bits), redrawn until it meets the same
 * policy as given passwords, so a generated password is accepted wherever a given one is.
 */
export function generatePassword(): string {
  for (;;) {
    let p = '';
    for (let i = 0; i < GENERATED_PASSWORD_LENGTH; i++) p += ALPHABET[randomInt(ALPHABET.length)];
    if (meetsPolicy(p)) return p;
  }
}

// ---- user fields ----

const CALLING_CODES = new Set(getCountries().map((c) => getCountryCallingCode(c)));

/** "+1" (calling code, as in the seed) or "US" (ISO 3166 alpha-2, as other clients send). */
export function normaliseCountryCode(raw: string): string {
  const v = raw.trim();
  if (/^\+[0-9]{1,3}$/.test(v) && CALLING_CODES.has(v.slice(1) as never)) return v;
  const upper = v.toUpperCase();
  if (/^[A-Z]{2}$/.test(upper) && isSupportedCountry(upper)) return upper;
  throw invalid('user_country_code', 'must be a calling code such as "+1" or a two-letter country code such as "US"');
}

const USER_ID_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** user_ids are compared case-insensitively, so "Bob" and "bob" cannot both exist in one domain. */
export function normaliseUserId(raw: string): string {
  const v = raw.trim().toLowerCase();
  if (!v) throw missing('user_id');
  if (!USER_ID_RE.test(v)) throw invalid('user_id', 'must be 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit');
  return v;
}

const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function normaliseUserEmail(raw: string): string {
  const v = raw.trim().toLowerCase();
  if (!EMAIL_RE.test(v) || v.length > 254) throw invalid('user_email', 'must be an email address');
  return v;
}

export function optionalName(raw: string | undefined, field: string): string | null {
  if (raw === undefined) return null;
  const v = raw.trim();
  if (v.length > 100) throw invalid(field, 'must be at most 100 characters');
  return v || null;
}

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const DOMAIN_RE = new RegExp(`^${LABEL}(?:\\.${LABEL})+$`);

/** Domain names look like host names (the seed's is "goofiw.gmail.com"); stored lower-case. */
export function normaliseDomainName(raw: string): string {
  const v = raw.trim().toLowerCase();
  if (!v) throw missing('domain_name');
  if (v.length > 253 || !DOMAIN_RE.test(v)) throw invalid('domain_name', 'must be a host name such as "example.com"');
  return v;
}

export function normaliseProjectName(raw: string | undefined, fallback: string): string {
  const v = (raw ?? '').trim() || fallback;
  if (v.length > 100) throw invalid('project_name', 'must be at most 100 characters');
  return v;
}
