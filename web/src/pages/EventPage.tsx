import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Link, useParams } from 'react-router';
import type { EventFieldsFragment, TicketFieldsFragment } from '../gql/graphql';
import { EventPageQuery, EventUpdatedSubscription, TicketUpdatedSubscription } from '../graphql/operations';
import { usePagedQuery, useSubscriptionEvents, type Connection } from '../graphql/hooks';
import { useAuth } from '../auth';
import { formatEventTime } from '../lib/format';
import { mergeLive, newerTicket } from '../lib/live';
import { serverNow } from '../lib/serverClock';
import { EventAvailability, availabilityLabel } from '../components/EventAvailability';
import { LoadMore, TicketList } from '../components/TicketList';
import { WatchEvent } from '../components/WatchEvent';
import { Alert, Loading, PageTitle, buttonClass } from '../components/ui';

const NO_TICKETS: Connection<TicketFieldsFragment> = { edges: [], pageInfo: { hasNextPage: false, endCursor: null } };

/** How long to gather pushes (one change often brings eventUpdated and ticketUpdated) before refetching. */
export const REFRESH_DELAY_MS = 200;

/**
 * An event, its tickets on sale cheapest first, and its live counts: eventUpdated replaces the
 * shown availableCount and lowest price at once; then (as after ticketUpdated of one of its
 * tickets, or a ticket the watch saw become available) the list is fetched again, since a ticket
 * may have come, gone or moved in the order.
 */
export function EventPage() {
  const { id = '' } = useParams();
  const list = usePagedQuery(EventPageQuery, { id }, (d) => d.event?.tickets ?? NO_TICKETS);
  const queried = list.data?.event;
  // A pushed event is shown until the next answer of the query, which is fetched after it.
  const [pushed, setPushed] = useState<{ event: EventFieldsFragment; over: unknown } | null>(null);
  const [updates, setUpdates] = useState<Map<string, TicketFieldsFragment>>(() => new Map());

  const refetch = useRef(list.refetchAll);
  refetch.current = list.refetchAll;
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const refresh = useCallback(() => {
    clearTimeout(timer.current);
    timer.current = setTimeout(() => refetch.current(), REFRESH_DELAY_MS);
  }, []);
  useEffect(() => () => clearTimeout(timer.current), []);

  useSubscriptionEvents(EventUpdatedSubscription, { id }, (d) => {
    if (d.eventUpdated.id !== id) return;
    setPushed({ event: d.eventUpdated, over: list.data });
    refresh();
  });
  useSubscriptionEvents(TicketUpdatedSubscription, {}, (d) => {
    const t = d.ticketUpdated;
    if (t.eventId !== id) return;
    setUpdates((m) => {
      const prev = m.get(t.id);
      if (prev && prev.version >= t.version) return m;
      return new Map(m).set(t.id, t);
    });
    refresh();
  });

  const tickets = useMemo(() => mergeLive(list.items, [], updates, newerTicket), [list.items, updates]);

  if (list.loading) return <Loading label="Loading event…" />;
  if (!list.data && list.error) return <Alert title="Could not load this event">{list.error.message}</Alert>;
  if (!queried) {
    return (
      <div>
        <PageTitle>Event not found</PageTitle>
        <p>
          There is no such event.{' '}
          <Link to="/events" className="text-indigo-700 underline">
            See upcoming events
          </Link>
          .
        </p>
      </div>
    );
  }
  const event = pushed && pushed.over === list.data && pushed.event.id === queried.id ? { ...queried, ...pushed.event } : queried;
  const listed = queried.listed.edges.length > 0 || event.availableCount > 0;
  const started = Date.parse(event.startsAt) <= serverNow();

  return (
    <div className="space-y-6">
      <EventDetails event={event} listed={listed} started={started} />
      {started ? null : <WatchEvent key={event.id} eventId={event.id} updates={updates} onAvailable={refresh} />}
      <section aria-labelledby="tickets-heading">
        <h2 id="tickets-heading" className="mb-3 text-lg font-semibold">
          Tickets on sale, cheapest first
        </h2>
        <TicketList
          tickets={tickets}
          empty={
            started
              ? 'This event has started: its tickets can no longer be bought.'
              : listed
                ? 'Nothing on sale right now. Watch the event to see a ticket the moment one frees up.'
                : 'No tickets listed yet.'
          }
        />
        <LoadMore hasMore={list.hasMore} loading={list.loadingMore} onClick={list.loadMore} error={list.moreError?.message} />
      </section>
    </div>
  );
}

function EventDetails({ event, listed, started }: { event: EventFieldsFragment; listed: boolean; started: boolean }) {
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
            <dt className="text-slate-500">On sale from</dt>
            <dd>
              <time dateTime={event.onSaleAt}>{formatEventTime(event.onSaleAt)}</time>
            </dd>
          </div>
        ) : null}
      </dl>
      {started ? (
        <div className="mt-3">
          <Alert kind="info">This event has started: its tickets can no longer be bought.</Alert>
        </div>
      ) : (
        <div className="mt-4 flex flex-wrap items-center gap-3">
          <Link to={`/sell?event=${encodeURIComponent(event.id)}`} className={buttonClass('secondary')}>
            Sell a ticket for this event
          </Link>
          {me && me.id === event.organizerId ? <span className="text-sm text-slate-600">You organise this event.</span> : null}
        </div>
      )}
    </article>
  );
}
