// Phone numbers are stored and compared in E.164 only.
import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { ApiError } from './errors.js';

/** The longest phone number text accepted anywhere (E.164 is at most 16 characters; room for spaces). */
export const PHONE_MAX = 32;

/**
 * Normalises a number written in international form (+…) or, with a default country, in
 * national form. Throws invalid_phone_number naming the field.
 */
export function toE164(input: string, field = 'phone', defaultCountry?: CountryCode): string {
  const parsed = parsePhoneNumberFromString(input.trim(), defaultCountry);
  if (!parsed || !parsed.isValid()) {
    throw new ApiError('invalid_phone_number', `${field}: "${input}" is not a valid phone number; use international form such as +14155550123`, { field });
  }
  return parsed.number;
}
