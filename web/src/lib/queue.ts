// The on-sale queue as the UI sees it: when it opens, which of two snapshots of a place is newer,
// how long the wait is, how far along the line the viewer is.
import type { QueuePlaceFieldsFragment, QueueStatus } from '../gql/graphql';
import { formatEventTime } from './format';

/**
 * How long before `onSaleAt` the queue opens: the server's QUEUE_OPENS_BEFORE_SECONDS default
 * (the API does not say what it is set to; joinQueue's CONFLICT names the real time when it differs).
 */
export const QUEUE_OPENS_BEFORE_SECONDS = 1800;

/** When buyers may start joining the queue, in ms since the epoch. */
export function queueOpensAt(onSaleAt: string): number {
  return Date.parse(onSaleAt) - QUEUE_OPENS_BEFORE_SECONDS * 1000;
}

const RANK: Record<QueueStatus, number> = { WAITING: 0, ADMITTED: 1, EXPIRED: 2 };

/**
 * The newer of two snapshots of the viewer's place. A place only moves forward: WAITING, then
 * ADMITTED, then EXPIRED; while waiting it has no position until the draw, and then the position
 * only goes down. So a query answer that left before a push and arrives after it cannot undo it.
 */
export function newerPlace<P extends Pick<QueuePlaceFieldsFragment, 'status' | 'position'>>(a: P | null | undefined, b: P | null | undefined): P | null {
  if (!a) return b ?? null;
  if (!b) return a;
  if (RANK[a.status] !== RANK[b.status]) return RANK[b.status] > RANK[a.status] ? b : a;
  if (a.status !== 'WAITING') return b;
  if (a.position == null) return b;
  if (b.position == null) return a;
  return b.position <= a.position ? b : a;
}

/** "about 40 seconds", "about 3 minutes", "about 1 h 20 min"; "any moment now" at 0. */
export function formatEta(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s === 0) return 'any moment now';
  if (s < 60) return `about ${s} second${s === 1 ? '' : 's'}`;
  const minutes = Math.round(s / 60);
  if (minutes < 60) return `about ${minutes} minute${minutes === 1 ? '' : 's'}`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return `about ${h} h${m ? ` ${m} min` : ''}`;
}

/**
 * How far along the line the viewer is, 0 to 1: the places let in since `first` (the position
 * when the order was drawn, or when this browser first saw it) out of `first`.
 */
export function queueProgress(first: number, position: number): number {
  const base = Math.max(first, position);
  if (base <= 0) return 0;
  return Math.min(1, Math.max(0, (base - position) / base));
}

const INSTANT = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})/g;

/** A server message with its instants ("the queue opens at 2027-03-01T18:30:00+00:00") in local time. */
export function humanizeInstants(message: string): string {
  return message.replace(INSTANT, (iso) => formatEventTime(iso));
}
