import { useEffect, useRef, useState } from 'react';
import { Link, useLocation, useParams } from 'react-router';
import type { EventFieldsFragment, QueuePlaceFieldsFragment, TicketFieldsFragment } from '../gql/graphql';
import { useLiveEvent } from '../graphql/liveEvent';
import { useQueuePlace } from '../graphql/queue';
import { formatDateTime } from '../lib/format';
import { formatEta, queueOpensAt, queueProgress } from '../lib/queue';
import { serverNow } from '../lib/serverClock';
import { BuyButton } from '../components/BuyButton';
import { Countdown, useSecondsLeft } from '../components/Countdown';
import { EventDetails } from '../components/EventDetails';
import { JoinQueueButton, PlaceEnded } from '../components/QueueSection';
import { LoadMore, TicketList } from '../components/TicketList';
import { Alert, Loading, PageTitle } from '../components/ui';

/**
 * The viewer's place in an event's on-sale queue, live: read with queuePlace (and again after a
 * reconnect), then moved by every queueUpdated push. Before the draw: the countdown to it; while
 * waiting: the position, the estimated wait and how far along the line; admitted: the countdown
 * to the admission's end and the tickets on sale cheapest first, with Buy; then how it ended.
 */
export function QueuePage() {
  const { id = '' } = useParams();
  const location = useLocation();
  const joined = (location.state as { place?: QueuePlaceFieldsFragment } | null)?.place ?? null;
  const queue = useQueuePlace(id, { enabled: true, live: true, initial: joined });
  const place = queue.place;
  const admitted = place?.status === 'ADMITTED';
  // Waiting buyers need the event's counts (eventUpdated), not every ticket's changes.
  const { list, event, listed, tickets, refresh } = useLiveEvent(id, { liveTickets: admitted });

  // The list may have changed while nobody here listened: read it again when the turn comes.
  const wasAdmitted = useRef(admitted);
  useEffect(() => {
    if (admitted && !wasAdmitted.current) refresh();
    wasAdmitted.current = admitted;
  }, [admitted, refresh]);

  if (list.loading || queue.loading) return <Loading label="Loading your place in the queue…" />;
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
  const started = Date.parse(event.startsAt) <= serverNow();

  return (
    <div className="space-y-6">
      <EventDetails event={event} listed={listed} started={started} actions={false} />
      {!event.onSaleAt ? (
        <Alert kind="info" title="No queue for this event">
          Its tickets are on sale as soon as they are listed.{' '}
          <Link to={`/events/${event.id}`} className="font-medium underline">
            See them
          </Link>
          .
        </Alert>
      ) : queue.error && !place ? (
        <Alert title="Could not read your place in the queue">{queue.error.message}</Alert>
      ) : (
        <section aria-labelledby="place-heading" className="rounded-lg border border-indigo-200 bg-white p-4 shadow-sm sm:p-6">
          <div aria-live="polite" data-testid="queue-place" data-status={place?.status ?? 'NONE'} data-position={place?.position ?? ''}>
            {place ? (
              <PlaceView event={event} place={place} />
            ) : (
              <NotQueued event={event} started={started} onJoined={queue.see} />
            )}
          </div>
        </section>
      )}
      {admitted ? (
        <section aria-labelledby="tickets-heading">
          <h2 id="tickets-heading" className="mb-3 text-lg font-semibold">
            Tickets on sale, cheapest first
          </h2>
          <AdmittedTickets tickets={tickets} listed={listed} />
          <LoadMore hasMore={list.hasMore} loading={list.loadingMore} onClick={list.loadMore} error={list.moreError?.message} />
        </section>
      ) : null}
    </div>
  );
}

function AdmittedTickets({ tickets, listed }: { tickets: TicketFieldsFragment[]; listed: boolean }) {
  return (
    <TicketList
      tickets={tickets}
      action={(t) => <BuyButton ticket={t} />}
      empty={listed ? 'Nothing on sale right now: every ticket is reserved or sold. A reserved one comes back if its buyer does not pay.' : 'No tickets listed yet.'}
    />
  );
}

function NotQueued({ event, started, onJoined }: { event: EventFieldsFragment; started: boolean; onJoined: (p: QueuePlaceFieldsFragment) => void }) {
  const untilOpen = useSecondsLeft(new Date(queueOpensAt(event.onSaleAt!)).toISOString());
  return (
    <div className="space-y-3">
      <h2 id="place-heading" className="text-xl font-semibold">
        You are not in this queue
      </h2>
      {started ? null : untilOpen > 0 ? (
        <p data-testid="queue-opens">Queue opens at {formatDateTime(new Date(queueOpensAt(event.onSaleAt!)).toISOString())}.</p>
      ) : (
        <JoinQueueButton eventId={event.id} onJoined={onJoined} />
      )}
    </div>
  );
}

function PlaceView({ event, place }: { event: EventFieldsFragment; place: QueuePlaceFieldsFragment }) {
  if (place.status === 'EXPIRED') {
    return (
      <>
        <h2 id="place-heading" className="sr-only">
          Your place in the queue
        </h2>
        <PlaceEnded event={event} place={place} backLink />
      </>
    );
  }
  if (place.status === 'ADMITTED') {
    return (
      <div className="space-y-2">
        <h2 id="place-heading" className="text-2xl font-bold text-emerald-800">
          It’s your turn
        </h2>
        <p className="text-slate-700">Pick a ticket below: buying holds it for you while you pay.</p>
        {place.admittedUntil ? (
          <Countdown key={place.admittedUntil} expiresAt={place.admittedUntil} label="left to buy" due="Your turn is ending…" />
        ) : null}
      </div>
    );
  }
  if (place.position == null) {
    return (
      <div className="space-y-2">
        <h2 id="place-heading" className="text-2xl font-bold text-slate-900">
          You’re in
        </h2>
        <p className="text-slate-700" data-testid="queue-draw">
          The order is drawn at <time dateTime={event.onSaleAt!}>{formatDateTime(event.onSaleAt!)}</time>: everyone in the queue
          then gets a place at random. Keep this page open.
        </p>
        <Countdown expiresAt={event.onSaleAt!} label="until the draw" due="Drawing the order…" urgent={false} />
      </div>
    );
  }
  return <Waiting eventId={event.id} place={place} position={place.position} />;
}

const firstKey = (eventId: string) => `queue-first-position:${eventId}`;

/**
 * The first position this browser saw of a place (kept for the tab's life in sessionStorage, so
 * a reload does not restart the progress bar).
 */
function useFirstPosition(eventId: string, position: number): number {
  const [first, setFirst] = useState<number>(() => {
    const stored = Number(sessionStorage.getItem(firstKey(eventId)));
    return Number.isFinite(stored) && stored > 0 ? Math.max(stored, position) : position;
  });
  useEffect(() => {
    sessionStorage.setItem(firstKey(eventId), String(first));
  }, [eventId, first]);
  useEffect(() => {
    if (position > first) setFirst(position);
  }, [position, first]);
  return Math.max(first, position);
}

function Waiting({ eventId, place, position }: { eventId: string; place: QueuePlaceFieldsFragment; position: number }) {
  const first = useFirstPosition(eventId, position);
  const progress = queueProgress(first, position);
  const pct = Math.round(progress * 100);
  const ahead = position - 1;
  return (
    <div className="space-y-3">
      <h2 id="place-heading" className="text-lg font-semibold text-slate-700">
        You’re in line
      </h2>
      <p className="flex flex-wrap items-baseline gap-x-3">
        <span className="text-4xl font-bold tabular-nums text-slate-900" data-testid="queue-position">
          #{position}
        </span>
        <span className="text-slate-700">{ahead === 0 ? 'You’re next.' : `${ahead} ${ahead === 1 ? 'buyer' : 'buyers'} ahead of you.`}</span>
      </p>
      <p className="text-slate-700" data-testid="queue-eta">
        Estimated wait: <strong>{place.etaSeconds == null ? 'unknown' : formatEta(place.etaSeconds)}</strong>
      </p>
      <div>
        <div
          role="progressbar"
          aria-label="Your progress in the queue"
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={pct}
          aria-valuetext={`${first - position} of ${first} places let in since you got yours`}
          className="h-3 w-full overflow-hidden rounded-full bg-slate-200"
        >
          <div className="h-full rounded-full bg-indigo-600 transition-[width] duration-700" style={{ width: `${Math.max(pct, 2)}%` }} />
        </div>
        <p className="mt-1 text-xs text-slate-500">
          {first === position ? 'The bar fills as the buyers ahead of you are let in.' : `${first - position} let in since you were #${first}.`} Keep this
          page open: you are let in automatically.
        </p>
      </div>
    </div>
  );
}
