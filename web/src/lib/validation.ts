// Client-side checks that mirror the server's rules (api/src/tickets/types.rs,
// api/src/events/types.rs and api/src/auth/types.rs), so most mistakes are caught before a round trip. The server stays the
// authority: whatever it says in `extensions.fields` is shown next to the same fields.

export type FieldErrors = Partial<Record<string, string>>;

export const TITLE_MAX = 200;
export const EVENT_NAME_MAX = 200;
export const VENUE_MAX = 200;
export const CITY_MAX = 100;
export const PRICE_MAX_CENTS = 100_000_000; // 1,000,000.00
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 128;

/** Characters as the server counts them (Unicode scalar values, like Rust's `chars()`). */
export function charCount(s: string): number {
  return Array.from(s).length;
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** A trimmed, non-empty line of at most `max` characters (titles, event names, venues, cities). */
export function validateText(raw: string, max: number): string | undefined {
  const text = raw.trim();
  const n = charCount(text);
  if (n === 0) return 'must not be empty';
  if (n > max) return `must be at most ${max} characters`;
  if (CONTROL.test(text)) return 'must not contain control characters';
  return undefined;
}

export function validateTitle(raw: string): string | undefined {
  return validateText(raw, TITLE_MAX);
}

/**
 * An event's start and on-sale times, as `<input type="datetime-local">` gives them (local time,
 * empty when not set). `now` is the server's clock in ms.
 */
export function validateEventTimes(startsAt: string, onSaleAt: string, now: number): { startsAt?: string; onSaleAt?: string } {
  const start = localDateTime(startsAt);
  const sale = localDateTime(onSaleAt);
  const out: { startsAt?: string; onSaleAt?: string } = {};
  if (start === null) out.startsAt = 'is required';
  else if (Number.isNaN(start)) out.startsAt = 'must be a date and time';
  else if (start <= now) out.startsAt = 'must be in the future';
  if (sale !== null) {
    if (Number.isNaN(sale)) out.onSaleAt = 'must be a date and time';
    else if (sale < now) out.onSaleAt = 'must not be in the past';
    else if (start !== null && !Number.isNaN(start) && sale >= start) out.onSaleAt = 'must be before the start';
  }
  return out;
}

/** ms since the epoch of a datetime-local value ("2027-03-01T19:00"), null when empty, NaN when unreadable. */
export function localDateTime(raw: string): number | null {
  const s = raw.trim();
  if (s === '') return null;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(s)) return Number.NaN;
  return new Date(s).getTime(); // no offset: read as local time
}

/**
 * Parses a price typed by a person into integer cents, or explains what is wrong with it.
 * Accepts "20", "20.5", "20.50", "1.500" (trailing zeros are not decimals, as on the server),
 * "0.99", ".5".
 */
export function parsePrice(raw: string): { cents: number } | { error: string } {
  const s = raw.trim();
  if (s === '') return { error: 'is required' };
  const m = /^(\d*)(?:\.(\d*))?$/.exec(s);
  if (!m || (m[1] === '' && (m[2] ?? '') === '')) return { error: 'must be a number, e.g. 20 or 19.99' };
  const intPart = m[1].replace(/^0+(?=\d)/, '') || '0';
  const frac = (m[2] ?? '').replace(/0+$/, '');
  if (frac.length > 2) return { error: 'must have at most 2 decimals' };
  if (intPart.length > 7) return { error: 'must be at most 1000000' };
  const cents = Number(intPart) * 100 + Number(frac.padEnd(2, '0'));
  if (cents <= 0) return { error: 'must be greater than 0' };
  if (cents > PRICE_MAX_CENTS) return { error: 'must be at most 1000000' };
  return { cents };
}

export function validatePrice(raw: string): string | undefined {
  const r = parsePrice(raw);
  return 'error' in r ? r.error : undefined;
}

/** The decimal string sent to the server, e.g. 2050 -> "20.50". */
export function centsToDecimal(cents: number): string {
  return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`;
}

export function validateEmail(raw: string): string | undefined {
  const email = raw.trim().toLowerCase();
  const invalid = 'must be a valid email address';
  if (email === '') return 'is required';
  if (email.length > 254 || /[\s\u0000-\u001f\u007f]/.test(email)) return invalid;
  const at = email.lastIndexOf('@');
  if (at < 0) return invalid;
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  const localOk =
    local.length > 0 &&
    local.length <= 64 &&
    !local.includes('@') &&
    !local.startsWith('.') &&
    !local.endsWith('.') &&
    !local.includes('..');
  const labels = domain.split('.');
  const domainOk =
    labels.length >= 2 &&
    labels.every(
      (l) => l.length > 0 && l.length <= 63 && !l.startsWith('-') && !l.endsWith('-') && /^[\p{L}\p{N}-]+$/u.test(l),
    );
  return localOk && domainOk ? undefined : invalid;
}

export function validatePassword(raw: string): string | undefined {
  const n = charCount(raw);
  if (n < PASSWORD_MIN) return `must be at least ${PASSWORD_MIN} characters`;
  if (n > PASSWORD_MAX) return `must be at most ${PASSWORD_MAX} characters`;
  return undefined;
}

/** Drops the undefined entries; an empty result means the form is valid. */
export function compact(errors: Record<string, string | undefined>): FieldErrors {
  const out: FieldErrors = {};
  for (const [k, v] of Object.entries(errors)) if (v) out[k] = v;
  return out;
}
