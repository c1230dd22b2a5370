import { Link, Navigate, useParams } from 'react-router';
import { useLiveEvent } from '../graphql/liveEvent';
import { useQueuePlace } from '../graphql/queue';
import { useAuth } from '../auth';
import { formatDateTime } from '../lib/format';
import { serverNow } from '../lib/serverClock';
import { BuyButton } from '../components/BuyButton';
import { EventDetails } from '../components/EventDetails';
import { QueueSection } from '../components/QueueSection';
import { LoadMore, TicketList } from '../components/TicketList';
import { WatchEvent } from '../components/WatchEvent';
import { Alert, Loading, PageTitle } from '../components/ui';

/**
 * An event, its tickets on sale cheapest first (with Buy), and its live counts (useLiveEvent).
 * An event with `onSaleAt` sells through its queue: instead of "Watch this event" it offers to
 * join the queue, Buy stays disabled (only an admitted buyer may order, on the queue's page), and
 * a viewer already waiting or admitted is taken straight to their place in the queue.
 */
export function EventPage() {
  const { id = '' } = useParams();
  const { me } = useAuth();
  const { list, event, listed, tickets, updates, refresh } = useLiveEvent(id);
  const started = !!event && Date.parse(event.startsAt) <= serverNow();
  const queued = !!event?.onSaleAt;
  const queue = useQueuePlace(id, { enabled: !!me && queued && !started });

  if (list.loading) return <Loading label="Loading event…" />;
  if (!list.data && list.error) return <Alert title="Could not load this event">{list.error.message}</Alert>;
  if (!event) {
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
  const place = queue.place;
  if (queued && place && place.status !== 'EXPIRED') return <Navigate to={`/events/${id}/queue`} replace />;
  // Buying an event on sale through its queue needs a running admission.
  const buyBlocked = queued && place?.status !== 'ADMITTED';

  return (
    <div className="space-y-6">
      <EventDetails event={event} listed={listed} started={started} />
      {started ? null : queued ? (
        <QueueSection event={event} place={place} loading={queue.loading} />
      ) : (
        <WatchEvent key={event.id} eventId={event.id} updates={updates} onAvailable={refresh} />
      )}
      <section aria-labelledby="tickets-heading">
        <h2 id="tickets-heading" className="mb-3 text-lg font-semibold">
          Tickets on sale, cheapest first
        </h2>
        {buyBlocked && !started && tickets.length > 0 ? (
          <p id="buy-blocked" className="mb-3 text-sm text-slate-600">
            {Date.parse(event.onSaleAt!) > serverNow()
              ? `On sale from ${formatDateTime(event.onSaleAt!)}, to buyers in the queue, in turn.`
              : 'Sold to buyers in the queue, in turn: you can buy when it is your turn.'}
          </p>
        ) : null}
        <TicketList
          tickets={tickets}
          action={started ? undefined : (t) => <BuyButton ticket={t} disabledBy={buyBlocked ? 'buy-blocked' : undefined} />}
          empty={
            started
              ? 'This event has started: its tickets can no longer be bought.'
              : listed
                ? queued
                  ? 'Nothing on sale right now.'
                  : 'Nothing on sale right now. Watch the event to see a ticket the moment one frees up.'
                : 'No tickets listed yet.'
          }
        />
        <LoadMore hasMore={list.hasMore} loading={list.loadingMore} onClick={list.loadMore} error={list.moreError?.message} />
      </section>
    </div>
  );
}
