// Merging what a query returned with what subscriptions pushed since.

export interface Versioned {
  id: string;
  version: number;
}

export interface Timestamped {
  id: string;
  updatedAt: string;
}

/** The newer of two snapshots of the same ticket (versions go up by one on every change). */
export function newerTicket<T extends Versioned>(a: T, b: T | undefined): T {
  if (!b) return a;
  return b.version > a.version ? b : a;
}

/** The newer of two snapshots of the same order; on a tie the second (pushed) one wins. */
export function newerOrder<T extends Timestamped>(a: T, b: T | undefined): T {
  if (!b) return a;
  return Date.parse(b.updatedAt) >= Date.parse(a.updatedAt) ? b : a;
}

/**
 * The list to show: items pushed as created (newest first) that the query has not returned,
 * then the queried items; each one shown as the newest snapshot seen of it (queried, created or
 * pushed as an update).
 */
export function mergeLive<T extends { id: string }>(
  queried: readonly T[],
  created: readonly T[],
  updates: ReadonlyMap<string, T>,
  newer: (a: T, b: T | undefined) => T,
): T[] {
  const best = new Map<string, T>();
  const order: string[] = [];
  for (const item of [...created, ...queried]) {
    const prev = best.get(item.id);
    if (!prev) order.push(item.id);
    best.set(item.id, prev ? newer(prev, item) : item);
  }
  return order.map((id) => newer(best.get(id)!, updates.get(id)));
}
