import { useCallback, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { useClient, useMutation, useQuery } from 'urql';
import type { EventFieldsFragment, QueuePlaceFieldsFragment, TicketFieldsFragment } from '../gql/graphql';
import { CreateOrderMutation, TicketQuery, TicketUpdatedSubscription, UpdateTicketMutation } from '../graphql/operations';
import { useSubscriptionEvents } from '../graphql/hooks';
import { useOnReconnect } from '../graphql/client';
import { useQueuePlace } from '../graphql/queue';
import { serverNow } from '../lib/serverClock';
import { queuePath } from '../components/QueueSection';
import { useAuth } from '../auth';
import { toApiError, type ApiError } from '../lib/errors';
import { newerTicket } from '../lib/live';
import { formatDateTime, formatEventTime, formatPrice } from '../lib/format';
import { TicketStatusBadge } from '../components/StatusBadge';
import { TicketForm } from '../components/TicketForm';
import { Alert, Loading, PageTitle, buttonClass } from '../components/ui';

export function TicketPage() {
  const { id = '' } = useParams();
  const [result, reexecute] = useQuery({ query: TicketQuery, variables: { id } });
  const [pushed, setPushed] = useState<TicketFieldsFragment | undefined>();
  const client = useClient();

  const see = useCallback((t: TicketFieldsFragment | null | undefined) => {
    if (t) setPushed((p) => (p && p.id === t.id ? newerTicket(p, t) : t));
  }, []);
  useSubscriptionEvents(TicketUpdatedSubscription, { id }, (d) => see(d.ticketUpdated));
  useOnReconnect(() => reexecute({ requestPolicy: 'network-only' }));

  /** The ticket as the server has it now (after a CONFLICT). */
  const reload = useCallback(async () => {
    const r = await client.query(TicketQuery, { id }, { requestPolicy: 'network-only' }).toPromise();
    see(r.data?.ticket);
    return r.data?.ticket ?? null;
  }, [client, id, see]);

  const queried = result.data?.ticket ?? undefined;
  const ticket = queried ? newerTicket(queried, pushed?.id === queried.id ? pushed : undefined) : undefined;

  if (!result.data && result.fetching) return <Loading label="Loading ticket…" />;
  if (!result.data && result.error) {
    return <Alert title="Could not load this ticket">{toApiError(result.error)?.message}</Alert>;
  }
  if (!ticket) {
    return (
      <div>
        <PageTitle>Ticket not found</PageTitle>
        <p>
          There is no such ticket. <Link to="/" className="text-indigo-700 underline">See what is on sale</Link>.
        </p>
      </div>
    );
  }
  // A ticket's event never changes: it is read with the ticket, not pushed.
  return <TicketView key={ticket.id} ticket={ticket} event={queried?.event ?? null} reload={reload} see={see} />;
}

function TicketView({
  ticket,
  event,
  reload,
  see,
}: {
  ticket: TicketFieldsFragment;
  event: EventFieldsFragment | null;
  reload: () => Promise<TicketFieldsFragment | null>;
  see: (t: TicketFieldsFragment) => void;
}) {
  const { me } = useAuth();
  const isSeller = !!me && me.id === ticket.sellerId;
  return (
    <div className="space-y-6">
      <article className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm" aria-labelledby="ticket-title">
        <div className="flex flex-wrap items-start justify-between gap-2">
          <h1 id="ticket-title" className="text-2xl font-bold tracking-tight break-words">
            {ticket.title}
          </h1>
          <span aria-live="polite" data-testid="ticket-status">
            <TicketStatusBadge status={ticket.status} />
          </span>
        </div>
        {event ? (
          <p className="mt-1 text-sm text-slate-700" data-testid="ticket-event">
            For{' '}
            <Link to={`/events/${event.id}`} className="font-medium text-indigo-700 underline">
              {event.name}
            </Link>
            <span className="text-slate-600">
              {' '}
              · {event.venue}, {event.city} · <time dateTime={event.startsAt}>{formatEventTime(event.startsAt)}</time>
            </span>
          </p>
        ) : null}
        <dl className="mt-3 grid grid-cols-1 gap-x-6 gap-y-2 text-sm sm:grid-cols-2">
          <div>
            <dt className="text-slate-500">Price</dt>
            <dd className="text-xl font-semibold tabular-nums" data-testid="ticket-price">
              {formatPrice(ticket.price)}
            </dd>
          </div>
          <div>
            <dt className="text-slate-500">Listed</dt>
            <dd>{formatDateTime(ticket.createdAt)}</dd>
          </div>
          {ticket.status === 'RESERVED' && ticket.reservedUntil ? (
            <div>
              <dt className="text-slate-500">Reserved until</dt>
              <dd>{formatDateTime(ticket.reservedUntil)}</dd>
            </div>
          ) : null}
          <div>
            <dt className="text-slate-500">Version</dt>
            <dd>
              {ticket.version} <span className="text-slate-500">(changed {formatDateTime(ticket.updatedAt)})</span>
            </dd>
          </div>
        </dl>
      </article>
      {me === undefined ? null : isSeller ? (
        <EditSection ticket={ticket} reload={reload} see={see} />
      ) : (
        <BuySection ticket={ticket} event={event} signedIn={!!me} reload={reload} />
      )}
    </div>
  );
}

function unavailableReason(t: TicketFieldsFragment): string | null {
  if (t.status === 'RESERVED') return 'Someone is buying this ticket right now. If they do not pay in time it goes back on sale.';
  if (t.status === 'SOLD') return 'This ticket has been sold.';
  return null;
}

/**
 * Why the viewer may not buy a ticket of an event on sale through its queue (null: admitted, or
 * no queue), with where to go about it.
 */
function queueReason(event: EventFieldsFragment | null, place: QueuePlaceFieldsFragment | null): { text: string; to: string; link: string } | null {
  if (!event?.onSaleAt || place?.status === 'ADMITTED') return null;
  if (place?.status === 'WAITING') {
    return { text: 'This event sells through its queue, and your turn has not come yet.', to: queuePath(event.id), link: 'See your place in the queue' };
  }
  if (place?.status === 'EXPIRED') return { text: 'This event sells through its queue, and your turn there has ended.', to: `/events/${event.id}`, link: 'See the event' };
  const before = Date.parse(event.onSaleAt) > serverNow();
  return {
    text: before
      ? `On sale from ${formatDateTime(event.onSaleAt)}, through the event's queue: buyers are let in in turn.`
      : "This event sells through its queue: buyers are let in in turn.",
    to: `/events/${event.id}`,
    link: 'Join the queue on the event’s page',
  };
}

function BuySection({
  ticket,
  event,
  signedIn,
  reload,
}: {
  ticket: TicketFieldsFragment;
  event: EventFieldsFragment | null;
  signedIn: boolean;
  reload: () => Promise<TicketFieldsFragment | null>;
}) {
  const navigate = useNavigate();
  const [, createOrder] = useMutation(CreateOrderMutation);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ err: ApiError; current?: TicketFieldsFragment | null; seen: TicketFieldsFragment } | null>(null);
  const queue = useQueuePlace(event?.id ?? '', { enabled: signedIn && !!event?.onSaleAt && ticket.status === 'AVAILABLE' });
  const queued = queue.loading ? null : queueReason(event, queue.place);
  const reason = unavailableReason(ticket) ?? (queue.loading ? 'Looking for your place in the event’s queue…' : (queued?.text ?? null));

  if (!signedIn) {
    return (
      <section aria-label="Buy" className="space-y-2">
        <Link to={`/signin?next=${encodeURIComponent(`/tickets/${ticket.id}`)}`} className={buttonClass('primary')}>
          Sign in to buy
        </Link>
        {reason ? <p className="text-sm text-slate-600">{reason}</p> : null}
      </section>
    );
  }

  async function buy() {
    setBusy(true);
    setError(null);
    const seen = ticket;
    const res = await createOrder({ ticketId: seen.id, expectedVersion: seen.version });
    const err = toApiError(res.error);
    if (err) {
      const current = err.code === 'CONFLICT' ? await reload() : undefined;
      setError({ err, current, seen });
      setBusy(false);
      return;
    }
    if (res.data) navigate(`/orders/${res.data.createOrder.id}`);
  }

  return (
    <section aria-labelledby="buy-heading" className="space-y-3">
      <h2 id="buy-heading" className="sr-only">
        Buy
      </h2>
      {error ? <BuyError {...error} /> : null}
      <button type="button" className={buttonClass('primary')} onClick={buy} disabled={busy || !!reason} aria-describedby={reason ? 'buy-reason' : undefined}>
        {busy ? 'Reserving…' : `Buy for ${formatPrice(ticket.price)}`}
      </button>
      {reason ? (
        <p id="buy-reason" className="text-sm text-slate-600">
          {reason}
          {queued && !unavailableReason(ticket) ? (
            <>
              {' '}
              <Link to={queued.to} className="font-medium text-indigo-700 underline">
                {queued.link}
              </Link>
              .
            </>
          ) : null}
        </p>
      ) : (
        <p className="text-sm text-slate-600">Buying holds the ticket for you while you pay.</p>
      )}
    </section>
  );
}

function BuyError({ err, current, seen }: { err: ApiError; current?: TicketFieldsFragment | null; seen: TicketFieldsFragment }) {
  if (err.code === 'CONFLICT' && current) {
    if (current.version !== seen.version && current.status === 'AVAILABLE') {
      return (
        <Alert kind="warning" title="This ticket changed while you were looking at it">
          Someone changed it meanwhile; here is the current version: <strong>{current.title}</strong> for{' '}
          <strong>{formatPrice(current.price)}</strong> (version {current.version}, you saw version {seen.version} at{' '}
          {formatPrice(seen.price)}). Check it and press Buy again if you still want it.
        </Alert>
      );
    }
    if (current.status !== 'AVAILABLE') {
      return (
        <Alert kind="warning" title="Too late">
          Someone else got there first: the ticket is now {current.status === 'SOLD' ? 'sold' : 'reserved'}.
        </Alert>
      );
    }
  }
  return <Alert title="Could not buy this ticket">{err.message}</Alert>;
}

function EditSection({
  ticket,
  reload,
  see,
}: {
  ticket: TicketFieldsFragment;
  reload: () => Promise<TicketFieldsFragment | null>;
  see: (t: TicketFieldsFragment) => void;
}) {
  const [, updateTicket] = useMutation(UpdateTicketMutation);
  // The version the form started from: sent as expectedVersion, so an edit made meanwhile (in
  // another tab, or an order) is refused instead of silently overwritten.
  const [base, setBase] = useState<TicketFieldsFragment | null>(null);
  const [conflict, setConflict] = useState<{ mine: { title: string; price: string }; current: TicketFieldsFragment | null } | null>(null);
  const [saved, setSaved] = useState(false);
  const reason = ticket.status === 'RESERVED'
    ? 'You cannot edit this ticket while it is reserved: a buyer is paying for it at the listed price.'
    : ticket.status === 'SOLD'
      ? 'You cannot edit this ticket: it has been sold.'
      : null;

  return (
    <section aria-labelledby="edit-heading" className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h2 id="edit-heading" className="text-lg font-semibold">
          Your listing
        </h2>
        {!base ? (
          <button
            type="button"
            className={buttonClass('secondary')}
            disabled={!!reason}
            aria-describedby={reason ? 'edit-reason' : undefined}
            onClick={() => {
              setConflict(null);
              setSaved(false);
              setBase(ticket);
            }}
          >
            Edit
          </button>
        ) : null}
      </div>
      {reason ? (
        <p id="edit-reason" className="mt-2 text-sm text-slate-600">
          {reason}
        </p>
      ) : null}
      {saved ? (
        <div className="mt-3">
          <Alert kind="success">Saved. Your listing is now at version {ticket.version}.</Alert>
        </div>
      ) : null}
      {conflict ? (
        <div className="mt-3">
          <Alert kind="warning" title="Not saved: someone changed this ticket meanwhile">
            {conflict.current ? (
              <>
                Here is the current version (version {conflict.current.version}): <strong>{conflict.current.title}</strong> for{' '}
                <strong>{formatPrice(conflict.current.price)}</strong>
                {conflict.current.status !== 'AVAILABLE' ? <>, now {conflict.current.status.toLowerCase()}</> : null}. Your
                edit was “{conflict.mine.title}” for {formatPrice(conflict.mine.price)}.
                {conflict.current.status === 'AVAILABLE' ? ' Press Edit to start again from the current version.' : null}
              </>
            ) : (
              'The ticket could not be reloaded.'
            )}
          </Alert>
        </div>
      ) : null}
      {base ? (
        <div className="mt-4">
          {ticket.version !== base.version ? (
            <div className="mb-3">
              <Alert kind="warning">
                This ticket changed while you were editing (now version {ticket.version}). Saving will be refused; cancel
                and edit again to start from the current version.
              </Alert>
            </div>
          ) : null}
          <TicketForm
            initial={{ title: base.title, price: base.price }}
            submitLabel="Save changes"
            disabled={!!reason}
            onSubmit={async (values) => {
              const res = await updateTicket({ id: ticket.id, input: { ...values, expectedVersion: base.version } });
              const err = toApiError(res.error);
              if (err?.code === 'CONFLICT') {
                const current = await reload();
                setConflict({ mine: values, current });
                setBase(null);
                return null;
              }
              if (!err && res.data) {
                see(res.data.updateTicket);
                setBase(null);
                setSaved(true);
              }
              return err;
            }}
          />
          <button type="button" className={`${buttonClass('secondary')} mt-2`} onClick={() => setBase(null)}>
            Cancel
          </button>
        </div>
      ) : null}
    </section>
  );
}
