import { afterEach, describe, expect, it } from 'vitest';
import { clockOffset, clockUncertainty, recordDateHeader, resetServerClock } from './serverClock';

afterEach(() => resetServerClock());

describe('server clock offset from Date headers', () => {
  it('is 0 until a response was seen', () => {
    expect(clockOffset()).toBe(0);
  });

  it('narrows down by intersecting the samples', () => {
    // The server runs 90.3 s ahead; each response takes 40 ms.
    const truth = 90_300;
    const local0 = Date.parse('2026-01-01T10:00:00.000Z');
    for (let i = 0; i < 20; i++) {
      const sent = local0 + i * 1370; // requests at various sub-second phases
      const handled = sent + 20;
      const header = new Date(Math.floor((handled + truth) / 1000) * 1000).toUTCString();
      recordDateHeader(header, sent, sent + 40);
    }
    expect(Math.abs(clockOffset() - truth)).toBeLessThanOrEqual(60);
    expect(clockUncertainty()).toBeLessThanOrEqual(100); // from ±520 ms for one sample
  });

  it('starts again when the samples contradict each other (the local clock was changed)', () => {
    recordDateHeader('Thu, 01 Jan 2026 10:00:00 GMT', Date.parse('2026-01-01T10:00:00.100Z'), Date.parse('2026-01-01T10:00:00.200Z'));
    expect(Math.abs(clockOffset())).toBeLessThan(1000);
    // Now the local clock is an hour behind.
    recordDateHeader('Thu, 01 Jan 2026 11:00:05 GMT', Date.parse('2026-01-01T10:00:05.100Z'), Date.parse('2026-01-01T10:00:05.200Z'));
    expect(Math.abs(clockOffset() - 3_600_000)).toBeLessThan(1000);
  });

  it('ignores missing or malformed headers', () => {
    recordDateHeader(null, 0, 1);
    recordDateHeader('yesterday', 0, 1);
    expect(clockOffset()).toBe(0);
  });
});
