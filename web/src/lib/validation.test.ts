import { describe, expect, it } from 'vitest';
import { centsToDecimal, localDateTime, parsePrice, validateEmail, validateEventTimes, validatePassword, validatePrice, validateText, validateTitle } from './validation';

describe('prices, as the server parses them', () => {
  it('become exact cents', () => {
    expect(parsePrice('19.99')).toEqual({ cents: 1999 });
    expect(parsePrice('20')).toEqual({ cents: 2000 });
    expect(parsePrice('20.1')).toEqual({ cents: 2010 });
    expect(parsePrice('0.01')).toEqual({ cents: 1 });
    expect(parsePrice(' 1000000 ')).toEqual({ cents: 100_000_000 });
    expect(parsePrice('1.500')).toEqual({ cents: 150 }); // trailing zeros are not decimals
    expect(parsePrice('.5')).toEqual({ cents: 50 });
    expect(centsToDecimal(2010)).toBe('20.10');
    expect(centsToDecimal(1)).toBe('0.01');
  });

  it('are refused with the server’s messages', () => {
    expect(validatePrice('0')).toBe('must be greater than 0');
    expect(validatePrice('0.00')).toBe('must be greater than 0');
    expect(validatePrice('0.001')).toBe('must have at most 2 decimals');
    expect(validatePrice('1.999')).toBe('must have at most 2 decimals');
    expect(validatePrice('1000000.01')).toBe('must be at most 1000000');
    expect(validatePrice('99999999999')).toBe('must be at most 1000000');
    expect(validatePrice('')).toBe('is required');
    expect(validatePrice('-1')).toMatch(/must be a number/);
    expect(validatePrice('abc')).toMatch(/must be a number/);
    expect(validatePrice('.')).toMatch(/must be a number/);
  });
});

describe('titles', () => {
  it('are trimmed and bounded in characters', () => {
    expect(validateTitle('  Concert ')).toBeUndefined();
    expect(validateTitle('   ')).toBe('must not be empty');
    expect(validateTitle('é'.repeat(200))).toBeUndefined();
    expect(validateTitle('😀'.repeat(200))).toBeUndefined(); // 200 characters, 400 UTF-16 units
    expect(validateTitle('é'.repeat(201))).toBe('must be at most 200 characters');
    expect(validateTitle('a\u0000b')).toBe('must not contain control characters');
  });
});

describe('events', () => {
  it('bound names, venues and cities like titles', () => {
    expect(validateText(' Philharmonie ', 200)).toBeUndefined();
    expect(validateText('', 200)).toBe('must not be empty');
    expect(validateText('c'.repeat(101), 100)).toBe('must be at most 100 characters');
    expect(validateText('a\u0001b', 200)).toBe('must not contain control characters');
  });

  it('start in the future, and go on sale before that, not in the past', () => {
    const now = new Date('2026-06-01T12:00').getTime();
    expect(validateEventTimes('2026-06-02T19:00', '', now)).toEqual({});
    expect(validateEventTimes('2026-06-02T19:00', '2026-06-01T12:30', now)).toEqual({});
    expect(validateEventTimes('', '', now)).toEqual({ startsAt: 'is required' });
    expect(validateEventTimes('2026-06-01T11:59', '', now)).toEqual({ startsAt: 'must be in the future' });
    expect(validateEventTimes('2026-06-02T19:00', '2026-06-02T19:00', now)).toEqual({ onSaleAt: 'must be before the start' });
    expect(validateEventTimes('2026-06-02T19:00', '2026-05-01T10:00', now)).toEqual({ onSaleAt: 'must not be in the past' });
    expect(validateEventTimes('tomorrow', '', now)).toEqual({ startsAt: 'must be a date and time' });
    expect(localDateTime('2026-06-02T19:00')).toBe(new Date(2026, 5, 2, 19, 0).getTime());
  });
});

describe('accounts', () => {
  it('check emails like the server', () => {
    expect(validateEmail('  Ada@Example.COM ')).toBeUndefined();
    for (const bad of ['ada', 'ada@', '@example.com', 'ada@example', 'ada@@example.com', 'a da@example.com', 'ada@-example.com', '.ada@example.com', 'ada..b@example.com', 'ada@example..com']) {
      expect(validateEmail(bad), bad).toBe('must be a valid email address');
    }
    expect(validateEmail('')).toBe('is required');
  });

  it('check password lengths in characters', () => {
    expect(validatePassword('1234567')).toBe('must be at least 8 characters');
    expect(validatePassword('12345678')).toBeUndefined();
    expect(validatePassword('x'.repeat(129))).toBe('must be at most 128 characters');
  });
});
