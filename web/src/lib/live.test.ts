import { describe, expect, it } from 'vitest';
import { mergeLive, newerOrder, newerTicket } from './live';

const t = (id: string, version: number, status = 'AVAILABLE') => ({ id, version, status });

describe('mergeLive', () => {
  it('puts new listings on top, once, and shows the newest snapshot of each', () => {
    const queried = [t('b', 1), t('a', 3)];
    const created = [t('c', 1), t('b', 1)];
    const updates = new Map([
      ['a', t('a', 2, 'RESERVED')], // older than the query: ignored
      ['b', t('b', 2, 'SOLD')],
    ]);
    const out = mergeLive(queried, created, updates, newerTicket);
    expect(out.map((x) => `${x.id}${x.version}${x.status}`)).toEqual(['c1AVAILABLE', 'b2SOLD', 'a3AVAILABLE']);
  });

  it('keeps a refetched snapshot over an older pushed one', () => {
    const out = mergeLive([t('a', 5)], [t('a', 1)], new Map(), newerTicket);
    expect(out).toEqual([t('a', 5)]);
  });

  it('orders snapshots of orders by updatedAt', () => {
    const a = { id: 'o', updatedAt: '2026-01-01T10:00:00Z', status: 'CREATED' };
    const b = { id: 'o', updatedAt: '2026-01-01T10:15:00Z', status: 'CANCELLED' };
    expect(newerOrder(a, b).status).toBe('CANCELLED');
    expect(newerOrder(b, a).status).toBe('CANCELLED');
  });
});
