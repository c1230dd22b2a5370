// The server's clock, as seen from the browser.
//
// Countdowns (an order's `expiresAt`) are deadlines on the server's clock, and the user's clock may
// be minutes off. Every HTTP response carries a `Date` header written by the server while it
// handled the request, i.e. at some local instant between sending the request (t0) and receiving
// the response headers (t1); the header is truncated to whole seconds, so the server's clock then
// read somewhere in [D, D + 1s). Hence offset = serverClock - localClock lies in
//   [D - t1, D + 1000 - t0]        (all in ms)
// Each response gives such an interval; intersecting them narrows the estimate well below one
// second after a handful of requests (the truncation boundary falls at different local instants),
// and no sample can make it worse. We use the midpoint. If the intervals stop overlapping (the
// local clock was changed, or a proxy rewrote the header) we start again from the latest sample.
// Using createdAt of an order instead would only work right after creating it, and would carry
// the whole network delay as error; the Date header works on every page and bounds the error.

let lo = Number.NEGATIVE_INFINITY;
let hi = Number.POSITIVE_INFINITY;
const listeners = new Set<() => void>();

export function recordDateHeader(dateHeader: string | null, sentAt: number, receivedAt: number): void {
  if (!dateHeader) return;
  const d = Date.parse(dateHeader);
  if (Number.isNaN(d)) return;
  const sLo = d - receivedAt;
  const sHi = d + 1000 - sentAt;
  const nLo = Math.max(lo, sLo);
  const nHi = Math.min(hi, sHi);
  if (nLo <= nHi) {
    lo = nLo;
    hi = nHi;
  } else {
    lo = sLo;
    hi = sHi;
  }
  listeners.forEach((l) => l());
}

/** serverClock - localClock in milliseconds (0 until a response has been seen). */
export function clockOffset(): number {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return 0;
  return Math.round((lo + hi) / 2);
}

/** How uncertain the offset is, in ms (half the interval's width). */
export function clockUncertainty(): number {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return Number.POSITIVE_INFINITY;
  return (hi - lo) / 2;
}

/** The server's current time in ms since the epoch. */
export function serverNow(): number {
  return Date.now() + clockOffset();
}

export function onClockChange(l: () => void): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

/** For tests. */
export function resetServerClock(): void {
  lo = Number.NEGATIVE_INFINITY;
  hi = Number.POSITIVE_INFINITY;
  listeners.forEach((l) => l());
}

/** A fetch that feeds the clock from every response's Date header. */
export function clockFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const sentAt = Date.now();
  return fetch(input, init).then((res) => {
    recordDateHeader(res.headers.get('date'), sentAt, Date.now());
    return res;
  });
}
