import { useMemo, useState } from 'react';
import { Link } from 'react-router';
import type { OrderFieldsFragment } from '../gql/graphql';
import { OrderCreatedSubscription, OrdersQuery, OrderUpdatedSubscription } from '../graphql/operations';
import { usePagedQuery, useSubscriptionEvents } from '../graphql/hooks';
import { mergeLive, newerOrder } from '../lib/live';
import { formatDateTime, formatPrice } from '../lib/format';
import { isExpired } from './OrderPage';
import { OrderStatusBadge } from '../components/StatusBadge';
import { LoadMore } from '../components/TicketList';
import { Alert, Loading, PageTitle } from '../components/ui';

export function MyOrdersPage() {
  const list = usePagedQuery(OrdersQuery, {}, (d) => d.orders);
  const [created, setCreated] = useState<OrderFieldsFragment[]>([]);
  const [updates, setUpdates] = useState<Map<string, OrderFieldsFragment>>(() => new Map());
  useSubscriptionEvents(OrderCreatedSubscription, {}, (d) =>
    setCreated((c) => (c.some((o) => o.id === d.orderCreated.id) ? c : [d.orderCreated, ...c])),
  );
  useSubscriptionEvents(OrderUpdatedSubscription, {}, (d) =>
    setUpdates((m) => new Map(m).set(d.orderUpdated.id, newerOrder(m.get(d.orderUpdated.id) ?? d.orderUpdated, d.orderUpdated))),
  );
  const orders = useMemo(() => mergeLive(list.items, created, updates, newerOrder), [list.items, created, updates]);

  return (
    <div>
      <PageTitle>My orders</PageTitle>
      {list.loading ? (
        <Loading label="Loading your orders…" />
      ) : list.error && orders.length === 0 ? (
        <Alert title="Could not load your orders">{list.error.message}</Alert>
      ) : orders.length === 0 ? (
        <p className="py-6 text-slate-600">
          No orders yet. <Link to="/" className="text-indigo-700 underline">Find a ticket</Link>.
        </p>
      ) : (
        <>
          <ul className="divide-y divide-slate-200 overflow-hidden rounded-lg border border-slate-200 bg-white shadow-sm" data-testid="order-list">
            {orders.map((o) => (
              <li key={o.id} data-order-id={o.id} className="flex items-center gap-3 px-4 py-3">
                <div className="min-w-0 flex-1">
                  <Link to={`/orders/${o.id}`} className="block truncate font-medium text-slate-900 hover:text-indigo-700 hover:underline">
                    {o.ticket.title}
                  </Link>
                  <p className="text-xs text-slate-500">
                    Ordered {formatDateTime(o.createdAt)}
                    {o.status === 'CREATED' ? <> · pay by {formatDateTime(o.expiresAt)}</> : null}
                  </p>
                </div>
                <span className="whitespace-nowrap font-semibold tabular-nums">{formatPrice(o.price)}</span>
                <OrderStatusBadge status={o.status} expired={isExpired(o, false)} />
              </li>
            ))}
          </ul>
          <LoadMore hasMore={list.hasMore} loading={list.loadingMore} onClick={list.loadMore} error={list.moreError?.message} />
        </>
      )}
    </div>
  );
}
