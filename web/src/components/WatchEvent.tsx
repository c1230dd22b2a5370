import { useState, type FormEvent } from 'react';
import { Link, useNavigate } from 'react-router';
import { useMutation } from 'urql';
import type { TicketFieldsFragment } from '../gql/graphql';
import { CreateOrderMutation, TicketAvailableSubscription } from '../graphql/operations';
import { useSubscriptionEvents } from '../graphql/hooks';
import { useAuth } from '../auth';
import { toApiError } from '../lib/errors';
import { formatPrice } from '../lib/format';
import { newerTicket } from '../lib/live';
import { centsToDecimal, parsePrice } from '../lib/validation';
import { TicketStatusBadge } from './StatusBadge';
import { Alert, Field, buttonClass } from './ui';

interface Freed {
  ticket: TicketFieldsFragment;
  /** When it was pushed (local clock), to say how recent it is. */
  at: number;
}

/**
 * The live waiting list of one event: with an optional maximum price, "Watch" subscribes to
 * ticketAvailable and every ticket that becomes available (a new listing, a price cut, an order
 * cancelled or expired) shows up at once under "Just available", with a Buy button that reserves
 * it as the ticket page does. Anyone can watch; buying needs an account. `updates` are the latest
 * snapshots of the event's tickets (ticketUpdated), so a ticket someone else grabbed meanwhile
 * says so instead of offering Buy.
 */
export function WatchEvent({
  eventId,
  updates,
  onAvailable,
  disabled,
}: {
  eventId: string;
  updates: ReadonlyMap<string, TicketFieldsFragment>;
  onAvailable?: (t: TicketFieldsFragment) => void;
  disabled?: boolean;
}) {
  const [max, setMax] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [watching, setWatching] = useState<{ maxPrice: string | null } | null>(null);
  const [freed, setFreed] = useState<Freed[]>([]);

  const variables = watching?.maxPrice ? { eventId, maxPrice: watching.maxPrice } : { eventId };
  useSubscriptionEvents(
    TicketAvailableSubscription,
    variables,
    (d) => {
      const t = d.ticketAvailable;
      setFreed((list) => [{ ticket: t, at: Date.now() }, ...list.filter((f) => f.ticket.id !== t.id)]);
      onAvailable?.(t);
    },
    !watching,
  );

  function start(e: FormEvent) {
    e.preventDefault();
    if (max.trim() === '') {
      setError(undefined);
      setWatching({ maxPrice: null });
      return;
    }
    const parsed = parsePrice(max);
    if ('error' in parsed) {
      setError(parsed.error);
      return;
    }
    setError(undefined);
    setWatching({ maxPrice: centsToDecimal(parsed.cents) });
  }

  const latest = freed[0];
  return (
    <section aria-labelledby="watch-heading" className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
      <h2 id="watch-heading" className="text-lg font-semibold">
        Watch this event
      </h2>
      <p className="mt-1 text-sm text-slate-600">
        See every ticket that frees up the moment it does: a new listing, a price cut, an order cancelled or expired. No
        account needed to watch.
      </p>
      <form noValidate onSubmit={start} className="mt-3 flex flex-wrap items-start gap-3" aria-label="Watch this event">
        <div className="w-full sm:w-56">
          <Field
            label="Max price (USD)"
            name="maxPrice"
            inputMode="decimal"
            autoComplete="off"
            value={max}
            disabled={!!watching || disabled}
            onChange={(e) => setMax(e.target.value)}
            error={error}
            hint="Optional: empty means any price."
          />
        </div>
        <div className="sm:pt-6">
          {watching ? (
            <button type="button" className={buttonClass('secondary')} onClick={() => setWatching(null)}>
              Stop watching
            </button>
          ) : (
            <button type="submit" className={buttonClass('primary')} disabled={disabled}>
              Watch
            </button>
          )}
        </div>
      </form>
      {watching ? (
        <p className="mt-3 flex items-center gap-2 text-sm text-indigo-800" data-testid="watching">
          <span aria-hidden="true" className="inline-block h-2 w-2 animate-pulse rounded-full bg-indigo-600" />
          Watching for tickets {watching.maxPrice ? `at or under ${formatPrice(watching.maxPrice)}` : 'at any price'}…
        </p>
      ) : null}
      {/* The toast for screen readers: the newest ticket, said once. */}
      <p className="sr-only" role="status" aria-live="assertive">
        {latest ? `Just available: ${latest.ticket.title} for ${formatPrice(latest.ticket.price)}` : ''}
      </p>
      {freed.length > 0 ? (
        <div className="mt-4 rounded-md border border-emerald-300 bg-emerald-50 p-3" data-testid="just-available">
          <h3 className="text-sm font-semibold text-emerald-900">Just available</h3>
          <ul className="mt-2 space-y-2">
            {freed.map((f, i) => (
              <FreedTicket key={f.ticket.id} ticket={newerTicket(f.ticket, updates.get(f.ticket.id))} at={f.at} newest={i === 0} />
            ))}
          </ul>
        </div>
      ) : null}
    </section>
  );
}

function FreedTicket({ ticket, at, newest }: { ticket: TicketFieldsFragment; at: number; newest: boolean }) {
  const { me } = useAuth();
  const navigate = useNavigate();
  const [, createOrder] = useMutation(CreateOrderMutation);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const available = ticket.status === 'AVAILABLE';
  const mine = !!me && me.id === ticket.sellerId;

  async function buy() {
    setBusy(true);
    setError(null);
    const res = await createOrder({ ticketId: ticket.id, expectedVersion: ticket.version });
    const err = toApiError(res.error);
    if (!err && res.data) {
      navigate(`/orders/${res.data.createOrder.id}`);
      return;
    }
    setBusy(false);
    if (err?.code === 'CONFLICT') setError('Too late: it changed or someone else got it first. Open it to see where it stands.');
    else if (err) setError(err.message);
  }

  return (
    <li
      data-ticket-id={ticket.id}
      className={`rounded-md border bg-white px-3 py-2 ${newest ? 'border-emerald-500 ring-2 ring-emerald-200' : 'border-emerald-200'}`}
    >
      <div className="flex flex-wrap items-center gap-x-3 gap-y-2">
        <div className="min-w-0 flex-1">
          <Link
            to={`/tickets/${ticket.id}`}
            className="block truncate font-medium text-slate-900 hover:text-indigo-700 hover:underline focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500"
          >
            {ticket.title}
          </Link>
          <p className="text-xs text-slate-500">
            Freed up at <time dateTime={new Date(at).toISOString()}>{new Date(at).toLocaleTimeString()}</time>
          </p>
        </div>
        <span className="whitespace-nowrap font-semibold tabular-nums">{formatPrice(ticket.price)}</span>
        <TicketStatusBadge status={ticket.status} />
        {!available || mine ? null : me ? (
          <button type="button" className={buttonClass('primary')} onClick={buy} disabled={busy}>
            {busy ? 'Reserving…' : `Buy for ${formatPrice(ticket.price)}`}
          </button>
        ) : me === null ? (
          <Link to={`/signin?next=${encodeURIComponent(`/tickets/${ticket.id}`)}`} className={buttonClass('primary')}>
            Sign in to buy
          </Link>
        ) : null}
      </div>
      {mine && available ? <p className="mt-1 text-xs text-slate-600">Your own listing.</p> : null}
      {error ? (
        <div className="mt-2">
          <Alert kind="warning">{error}</Alert>
        </div>
      ) : null}
    </li>
  );
}
