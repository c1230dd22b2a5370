import { useEffect, useState } from 'react';
import { formatDuration } from '../lib/format';
import { serverNow } from '../lib/serverClock';

/** Seconds left until `deadline` (ISO) on the server's clock, ticking. */
export function useSecondsLeft(deadline: string, now: () => number = serverNow): number {
  const end = Date.parse(deadline);
  const compute = () => Math.ceil((end - now()) / 1000);
  const [left, setLeft] = useState(compute);
  useEffect(() => {
    setLeft(compute());
    const t = setInterval(() => setLeft(compute()), 250);
    return () => clearInterval(t);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [end, now]);
  return left;
}

/**
 * Time left to pay. Reaching zero only says "expiring…": the order is expired when the server
 * says so (orderExpired / orderUpdated CANCELLED), never by the local clock alone.
 */
export function Countdown({ expiresAt, now }: { expiresAt: string; now?: () => number }) {
  const left = useSecondsLeft(expiresAt, now);
  if (left <= 0) {
    return (
      <p role="timer" aria-live="polite" className="text-lg font-semibold text-amber-800" data-testid="countdown">
        Expiring…
      </p>
    );
  }
  return (
    <p role="timer" className="text-lg font-semibold tabular-nums" data-testid="countdown">
      <span className={left <= 60 ? 'text-red-700' : 'text-slate-900'}>{formatDuration(left)}</span>{' '}
      <span className="text-sm font-normal text-slate-600">left to pay</span>
    </p>
  );
}
