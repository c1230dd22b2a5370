import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { useMutation } from 'urql';
import type { EventFieldsFragment, QueuePlaceFieldsFragment } from '../gql/graphql';
import { JoinQueueMutation } from '../graphql/operations';
import { useAuth } from '../auth';
import { toApiError } from '../lib/errors';
import { formatDateTime } from '../lib/format';
import { humanizeInstants, queueOpensAt } from '../lib/queue';
import { useSecondsLeft } from './Countdown';
import { Alert, Loading, buttonClass } from './ui';

/** The queue's page of an event. */
export const queuePath = (eventId: string) => `/events/${eventId}/queue`;

/**
 * The on-sale queue on an event's page: when the sale opens and how the queue works, then
 * "Queue opens at …" until buyers may join, "Join the queue" (signed out: a sign-in link), or how
 * the viewer's place ended. A place still running is not shown here: its page is (EventPage
 * redirects there).
 */
export function QueueSection({
  event,
  place,
  loading,
}: {
  event: EventFieldsFragment;
  place: QueuePlaceFieldsFragment | null;
  loading: boolean;
}) {
  const { me } = useAuth();
  const onSaleAt = event.onSaleAt!;
  const opensAt = new Date(queueOpensAt(onSaleAt)).toISOString();
  const untilOpen = useSecondsLeft(opensAt);
  const untilSale = useSecondsLeft(onSaleAt);

  let body;
  if (me === undefined || loading) body = <Loading label="Looking for your place…" />;
  else if (place?.status === 'EXPIRED') body = <PlaceEnded event={event} place={place} />;
  else if (untilOpen > 0) {
    body = (
      <p className="text-base font-medium text-slate-900" data-testid="queue-opens">
        Queue opens at <time dateTime={opensAt}>{formatDateTime(opensAt)}</time>
      </p>
    );
  } else if (me === null) {
    body = (
      <Link to={`/signin?next=${encodeURIComponent(`/events/${event.id}`)}`} className={buttonClass('primary')}>
        Sign in to join the queue
      </Link>
    );
  } else body = <JoinQueueButton eventId={event.id} />;

  return (
    <section aria-labelledby="queue-heading" className="rounded-lg border border-indigo-200 bg-white p-4 shadow-sm" data-testid="queue-section">
      <h2 id="queue-heading" className="text-lg font-semibold">
        {untilSale > 0 ? 'On sale through a queue' : 'On sale now, through a queue'}
      </h2>
      <p className="mt-1 text-sm text-slate-600">
        Tickets go on sale at <time dateTime={onSaleAt}>{formatDateTime(onSaleAt)}</time>. Everyone who joins the queue
        before then gets a place drawn at random at that moment (arriving early gives no advantage); later arrivals join the
        back. When your turn comes you have a few minutes to buy.
      </p>
      <div className="mt-3">{body}</div>
    </section>
  );
}

/**
 * joinQueue, then the queue's page (or `onJoined`, already on it); a CONFLICT (not open yet, or
 * over) is explained here.
 */
export function JoinQueueButton({ eventId, onJoined }: { eventId: string; onJoined?: (place: QueuePlaceFieldsFragment) => void }) {
  const [, joinQueue] = useMutation(JoinQueueMutation);
  const navigate = useNavigate();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ code: string; message: string } | null>(null);

  async function join() {
    setBusy(true);
    setError(null);
    const res = await joinQueue({ eventId });
    const err = toApiError(res.error);
    if (!err && res.data && onJoined) {
      onJoined(res.data.joinQueue);
      return;
    }
    if (!err && res.data) {
      // Replacing the event page: going back from the queue must not land on a page that sends
      // you to the queue again.
      navigate(queuePath(eventId), { replace: true, state: { place: res.data.joinQueue } });
      return;
    }
    setBusy(false);
    if (err) setError({ code: err.code, message: humanizeInstants(err.message) });
  }

  return (
    <div className="space-y-3">
      <button type="button" className={buttonClass('primary')} onClick={join} disabled={busy}>
        {busy ? 'Joining…' : 'Join the queue'}
      </button>
      {error ? (
        <Alert kind={error.code === 'CONFLICT' ? 'warning' : 'error'} title={error.code === 'CONFLICT' ? 'You cannot join the queue now' : 'Could not join the queue'}>
          {error.message}
        </Alert>
      ) : null}
    </div>
  );
}

/** An EXPIRED place: sold out (never admitted, or nothing left), or the admission is over. */
export function PlaceEnded({ event, place, backLink }: { event: EventFieldsFragment; place: QueuePlaceFieldsFragment; backLink?: boolean }) {
  const soldOut = !place.admittedUntil || event.availableCount === 0;
  return (
    <div className="space-y-3" data-testid="queue-ended" data-sold-out={soldOut}>
      {soldOut ? (
        <Alert kind="info" title="Sold out">
          {place.admittedUntil
            ? 'Every ticket was sold or reserved by the end of your turn.'
            : 'Every ticket was sold while you were waiting, so the queue was closed before your turn.'}
        </Alert>
      ) : (
        <Alert kind="info" title="Your admission ended">
          Your turn to buy ended at <time dateTime={place.admittedUntil!}>{formatDateTime(place.admittedUntil!)}</time>.
        </Alert>
      )}
      {backLink ? (
        <Link to={`/events/${event.id}`} className="inline-block text-sm font-medium text-indigo-700 underline">
          Back to {event.name}
        </Link>
      ) : null}
    </div>
  );
}
