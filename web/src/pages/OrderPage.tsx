import { lazy, Suspense, useCallback, useState } from 'react';
import { Link, useParams } from 'react-router';
import { useClient, useMutation, useQuery } from 'urql';
import type { ChargeFieldsFragment, OrderFieldsFragment } from '../gql/graphql';
import {
  CancelOrderMutation,
  ChargeCreatedSubscription,
  OrderExpiredSubscription,
  OrderQuery,
  OrderUpdatedSubscription,
  PayOrderMutation,
  PaymentSettingsQuery,
} from '../graphql/operations';
import { useSubscriptionEvents } from '../graphql/hooks';
import { useOnReconnect } from '../graphql/client';
import { toApiError } from '../lib/errors';
import { newerOrder } from '../lib/live';
import { formatDateTime, formatPrice } from '../lib/format';
import { Countdown, useSecondsLeft } from '../components/Countdown';
import { OrderStatusBadge, TicketStatusBadge } from '../components/StatusBadge';
import { TestCardForm } from '../components/TestCardForm';
import { Alert, Loading, PageTitle, buttonClass } from '../components/ui';

const StripeCardForm = lazy(() => import('../components/StripeCardForm'));

/** An order cancelled at or after its deadline was cancelled by expiry, not by its buyer. */
export function isExpired(o: Pick<OrderFieldsFragment, 'status' | 'updatedAt' | 'expiresAt'>, expiredEvent: boolean): boolean {
  return o.status === 'CANCELLED' && (expiredEvent || Date.parse(o.updatedAt) >= Date.parse(o.expiresAt));
}

export function OrderPage() {
  const { id = '' } = useParams();
  const client = useClient();
  const [result, reexecute] = useQuery({ query: OrderQuery, variables: { id } });
  const [pushed, setPushed] = useState<OrderFieldsFragment | undefined>();
  const [expiredEvent, setExpiredEvent] = useState(false);
  const [charge, setCharge] = useState<ChargeFieldsFragment | undefined>();

  const see = useCallback(
    (o: OrderFieldsFragment | null | undefined) => {
      if (o && o.id === id) setPushed((p) => (p ? newerOrder(p, o) : o));
    },
    [id],
  );
  useSubscriptionEvents(OrderUpdatedSubscription, { id }, (d) => see(d.orderUpdated));
  useSubscriptionEvents(OrderExpiredSubscription, {}, (d) => {
    if (d.orderExpired.id === id) {
      setExpiredEvent(true);
      see(d.orderExpired);
    }
  });
  useSubscriptionEvents(ChargeCreatedSubscription, {}, (d) => {
    if (d.chargeCreated.orderId === id) setCharge(d.chargeCreated);
  });
  const reload = useCallback(async () => {
    const r = await client.query(OrderQuery, { id }, { requestPolicy: 'network-only' }).toPromise();
    see(r.data?.order);
  }, [client, id, see]);
  useOnReconnect(() => reexecute({ requestPolicy: 'network-only' }));

  if (!result.data && result.fetching) return <Loading label="Loading order…" />;
  const queried = result.data?.order ?? undefined;
  if (!queried) {
    const err = toApiError(result.error);
    if (err && err.code !== 'NOT_FOUND') return <Alert title="Could not load this order">{err.message}</Alert>;
    return (
      <div>
        <PageTitle>Order not found</PageTitle>
        <p>
          There is no such order among yours. <Link to="/orders" className="text-indigo-700 underline">See your orders</Link>.
        </p>
      </div>
    );
  }
  const order = newerOrder(queried, pushed?.id === queried.id ? pushed : undefined);
  return (
    <OrderView
      order={order}
      expired={isExpired(order, expiredEvent)}
      charge={order.charge ?? (charge?.orderId === order.id ? charge : undefined)}
      onCharge={setCharge}
      reload={reload}
      see={see}
    />
  );
}

function OrderView({
  order,
  expired,
  charge,
  onCharge,
  reload,
  see,
}: {
  order: OrderFieldsFragment;
  expired: boolean;
  charge?: ChargeFieldsFragment;
  onCharge: (c: ChargeFieldsFragment) => void;
  reload: () => Promise<void>;
  see: (o: OrderFieldsFragment) => void;
}) {
  const open = order.status === 'CREATED' || order.status === 'AWAITING_PAYMENT';
  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <PageTitle flush>Order</PageTitle>
        <span aria-live="polite" data-testid="order-status">
          <OrderStatusBadge status={order.status} expired={expired} />
        </span>
      </div>
      <section aria-label="Ticket" className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
        <div className="flex flex-wrap items-center justify-between gap-2">
          <Link to={`/tickets/${order.ticket.id}`} className="text-lg font-semibold text-slate-900 underline-offset-2 hover:underline">
            {order.ticket.title}
          </Link>
          <TicketStatusBadge status={order.ticket.status} />
        </div>
        <p className="mt-1 text-sm text-slate-600">
          Price <strong className="tabular-nums text-slate-900">{formatPrice(order.price)}</strong> · ordered {formatDateTime(order.createdAt)}
        </p>
      </section>
      {order.status === 'COMPLETE' ? (
        <Receipt order={order} charge={charge} />
      ) : order.status === 'CANCELLED' ? (
        expired ? (
          <Alert kind="warning" title="This order expired">
            Time ran out before it was paid, so nothing was charged and the ticket went back on sale.{' '}
            <Link to={`/tickets/${order.ticket.id}`} className="underline">
              See the ticket
            </Link>
            .
          </Alert>
        ) : (
          <Alert kind="info" title="This order was cancelled">
            Nothing was charged and the ticket went back on sale.
          </Alert>
        )
      ) : open ? (
        <PaySection order={order} onCharge={onCharge} reload={reload} see={see} />
      ) : null}
    </div>
  );
}

function Receipt({ order, charge }: { order: OrderFieldsFragment; charge?: ChargeFieldsFragment }) {
  return (
    <section aria-labelledby="receipt-heading" className="rounded-lg border border-emerald-300 bg-emerald-50 p-4" data-testid="receipt">
      <h2 id="receipt-heading" className="text-lg font-semibold text-emerald-900">
        Paid — receipt
      </h2>
      {charge ? (
        <dl className="mt-3 grid grid-cols-1 gap-x-6 gap-y-2 text-sm sm:grid-cols-2">
          <div>
            <dt className="text-emerald-800">Amount</dt>
            <dd className="text-xl font-semibold tabular-nums" data-testid="receipt-amount">
              {formatPrice(charge.amount, charge.currency)}
            </dd>
          </div>
          <div>
            <dt className="text-emerald-800">Currency</dt>
            <dd>{charge.currency.toUpperCase()}</dd>
          </div>
          <div>
            <dt className="text-emerald-800">Payment reference</dt>
            <dd className="break-all font-mono" data-testid="receipt-provider-id">
              {charge.providerId}
            </dd>
          </div>
          <div>
            <dt className="text-emerald-800">Paid at</dt>
            <dd>{formatDateTime(charge.createdAt)}</dd>
          </div>
          <div>
            <dt className="text-emerald-800">Order</dt>
            <dd className="break-all font-mono text-xs">{order.id}</dd>
          </div>
        </dl>
      ) : (
        <Loading label="Loading the receipt…" />
      )}
    </section>
  );
}

function PaySection({
  order,
  onCharge,
  reload,
  see,
}: {
  order: OrderFieldsFragment;
  onCharge: (c: ChargeFieldsFragment) => void;
  reload: () => Promise<void>;
  see: (o: OrderFieldsFragment) => void;
}) {
  const [settings] = useQuery({ query: PaymentSettingsQuery, requestPolicy: 'cache-first' });
  const [, payOrder] = useMutation(PayOrderMutation);
  const [, cancelOrder] = useMutation(CancelOrderMutation);
  const [cancelError, setCancelError] = useState<string | null>(null);
  const [cancelling, setCancelling] = useState(false);
  const left = useSecondsLeft(order.expiresAt);
  const timeUp = left <= 0;

  const pay = useCallback(
    async (token: string): Promise<string | null> => {
      const res = await payOrder({ orderId: order.id, token });
      const err = toApiError(res.error);
      if (!err && res.data) {
        onCharge(res.data.payOrder);
        await reload();
        return null;
      }
      if (!err) return null;
      if (err.code === 'PAYMENT_FAILED') {
        const why = /[.!?]$/.test(err.message) ? err.message : `${err.message}.`;
        return `${why} You can try again, with another card, while time remains.`;
      }
      if (err.code === 'CONFLICT') await reload();
      return err.message;
    },
    [payOrder, order.id, onCharge, reload],
  );

  const publishableKey = settings.data?.paymentSettings.publishableKey;
  const submitLabel = `Pay ${formatPrice(order.price)}`;
  return (
    <section aria-labelledby="pay-heading" className="space-y-4 rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h2 id="pay-heading" className="text-lg font-semibold">
          Pay by card
        </h2>
        <Countdown expiresAt={order.expiresAt} />
      </div>
      <p className="text-sm text-slate-600">
        The ticket is held for you until {formatDateTime(order.expiresAt)}. If it is not paid by then the order expires and
        the ticket goes back on sale.
      </p>
      {timeUp ? <Alert kind="warning">Time is up; waiting for the server to confirm that the order expired…</Alert> : null}
      {order.status === 'AWAITING_PAYMENT' ? <Alert kind="info">A payment is in progress…</Alert> : null}
      {settings.fetching && !settings.data ? (
        <Loading label="Loading payment options…" />
      ) : publishableKey ? (
        <Suspense fallback={<Loading label="Loading the card form…" />}>
          <StripeCardForm publishableKey={publishableKey} pay={pay} disabled={timeUp} submitLabel={submitLabel} />
        </Suspense>
      ) : (
        <TestCardForm pay={pay} disabled={timeUp} submitLabel={submitLabel} />
      )}
      {order.status === 'CREATED' ? (
        <div className="border-t border-slate-200 pt-4">
          {cancelError ? <Alert>{cancelError}</Alert> : null}
          <button
            type="button"
            className={buttonClass('danger')}
            disabled={cancelling}
            onClick={async () => {
              setCancelling(true);
              setCancelError(null);
              const res = await cancelOrder({ id: order.id });
              setCancelling(false);
              const err = toApiError(res.error);
              if (err) {
                setCancelError(err.message);
                await reload();
              } else if (res.data) see(res.data.cancelOrder);
            }}
          >
            {cancelling ? 'Cancelling…' : 'Cancel order'}
          </button>
        </div>
      ) : null}
    </section>
  );
}
