import { describe, expect, it } from 'vitest';
import { formatEta, humanizeInstants, newerPlace, queueOpensAt, queueProgress } from './queue';
import { formatEventTime } from './format';
import type { QueueStatus } from '../gql/graphql';

type Place = { status: QueueStatus; position: number | null };
const waiting = (position: number | null): Place => ({ status: 'WAITING', position });

describe('the queue helpers', () => {
  it('opens the queue 30 minutes before the sale', () => {
    expect(queueOpensAt('2027-03-01T18:00:00Z')).toBe(Date.parse('2027-03-01T17:30:00Z'));
  });

  it('keeps the more advanced snapshot of a place', () => {
    expect(newerPlace(waiting(null), waiting(40))).toEqual(waiting(40));
    expect(newerPlace(waiting(40), waiting(null))).toEqual(waiting(40));
    expect(newerPlace(waiting(40), waiting(12))).toEqual(waiting(12));
    expect(newerPlace(waiting(12), waiting(40))).toEqual(waiting(12)); // a late answer of an old read
    const admitted: Place = { status: 'ADMITTED', position: null };
    const expired: Place = { status: 'EXPIRED', position: null };
    expect(newerPlace(admitted, waiting(3))).toBe(admitted);
    expect(newerPlace(waiting(3), admitted)).toBe(admitted);
    expect(newerPlace(expired, admitted)).toBe(expired);
    expect(newerPlace(null, admitted)).toBe(admitted);
    expect(newerPlace(undefined, null)).toBeNull();
  });

  it('says how long the wait is', () => {
    expect(formatEta(0)).toBe('any moment now');
    expect(formatEta(1)).toBe('about 1 second');
    expect(formatEta(42)).toBe('about 42 seconds');
    expect(formatEta(60)).toBe('about 1 minute');
    expect(formatEta(150)).toBe('about 3 minutes');
    expect(formatEta(3600)).toBe('about 1 h');
    expect(formatEta(4800)).toBe('about 1 h 20 min');
  });

  it('measures the progress from the first position seen', () => {
    expect(queueProgress(40, 40)).toBe(0);
    expect(queueProgress(40, 10)).toBe(0.75);
    expect(queueProgress(40, 50)).toBe(0); // never below zero
    expect(queueProgress(0, 0)).toBe(0);
  });

  it('writes the server’s instants in local time', () => {
    expect(humanizeInstants('the queue opens at 2027-03-01T17:30:00.948+00:00')).toBe(
      `the queue opens at ${formatEventTime('2027-03-01T17:30:00.948+00:00')}`,
    );
    expect(humanizeInstants('no instant here')).toBe('no instant here');
  });
});
