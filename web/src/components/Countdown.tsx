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
 * Time left to pay (or, with `label` and `due`, until another deadline: an admission's end, the
 * queue's draw). Reaching zero only says "Expiring…" (or `due`): the order is expired when the
 * server says so (orderExpired / orderUpdated CANCELLED), never by the local clock alone.
 */
export function Countdown({
  expiresAt,
  now,
  label = 'left to pay',
  due = 'Expiring…',
  urgent = true,
}: {
  expiresAt: string;
  now?: () => number;
  label?: string;
  due?: string;
  /** Red in the last minute. */
  urgent?: boolean;
}) {
  const left = useSecondsLeft(expiresAt, now);
  if (left <= 0) {
    return (
      <p role="timer" aria-live="polite" className="text-lg font-semibold text-amber-800" data-testid="countdown">
        {due}
      </p>
    );
  }
  return (
    <p role="timer" className="text-lg font-semibold tabular-nums" data-testid="countdown">
      <span className={urgent && left <= 60 ? 'text-red-700' : 'text-slate-900'}>{formatDuration(left)}</span>{' '}
      <span className="text-sm font-normal text-slate-600">{label}</span>
    </p>
  );
}
