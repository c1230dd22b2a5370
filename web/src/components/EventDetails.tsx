import { Link } from 'react-router';
import type { EventFieldsFragment } from '../gql/graphql';
import { useAuth } from '../auth';
import { formatDateTime, formatEventTime } from '../lib/format';
import { EventAvailability, availabilityLabel } from './EventAvailability';
import { Alert, buttonClass } from './ui';

/** An event's name, place, times and live availability, as its page and its queue's page show it. */
export function EventDetails({
  event,
  listed,
  started,
  actions = true,
}: {
  event: EventFieldsFragment;
  listed: boolean;
  started: boolean;
  /** "Sell a ticket for this event" (not on the queue's page). */
  actions?: boolean;
}) {
  const { me } = useAuth();
  return (
    <article className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm" aria-labelledby="event-name">
      <div className="flex flex-wrap items-start justify-between gap-3">
        <div className="min-w-0">
          <h1 id="event-name" className="text-2xl font-bold tracking-tight break-words">
            {event.name}
          </h1>
          <p className="text-slate-700">
            {event.venue} · {event.city}
          </p>
        </div>
        <div aria-live="polite" aria-atomic="true" data-testid="event-live">
          <span className="sr-only">{availabilityLabel(event, listed)}</span>
          <span aria-hidden="true">
            <EventAvailability event={event} listed={listed} large />
          </span>
        </div>
      </div>
      <dl className="mt-3 grid grid-cols-1 gap-x-6 gap-y-2 text-sm sm:grid-cols-2">
        <div>
          <dt className="text-slate-500">Starts</dt>
          <dd>
            <time dateTime={event.startsAt}>{formatEventTime(event.startsAt)}</time>
          </dd>
        </div>
        {event.onSaleAt ? (
          <div>
            <dt className="text-slate-500">On sale at</dt>
            <dd data-testid="event-on-sale-at">
              <time dateTime={event.onSaleAt}>{formatDateTime(event.onSaleAt)}</time>
            </dd>
          </div>
        ) : null}
      </dl>
      {started ? (
        <div className="mt-3">
          <Alert kind="info">This event has started: its tickets can no longer be bought.</Alert>
        </div>
      ) : actions ? (
        <div className="mt-4 flex flex-wrap items-center gap-3">
          <Link to={`/sell?event=${encodeURIComponent(event.id)}`} className={buttonClass('secondary')}>
            Sell a ticket for this event
          </Link>
          {me && me.id === event.organizerId ? <span className="text-sm text-slate-600">You organise this event.</span> : null}
        </div>
      ) : null}
    </article>
  );
}
