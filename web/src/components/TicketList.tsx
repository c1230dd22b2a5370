import type { ReactNode } from 'react';
import { Link } from 'react-router';
import type { TicketFieldsFragment } from '../gql/graphql';
import { formatDateTime, formatPrice } from '../lib/format';
import { TicketStatusBadge } from './StatusBadge';

export function TicketList({
  tickets,
  fresh,
  empty,
  action,
}: {
  tickets: TicketFieldsFragment[];
  fresh?: ReadonlySet<string>;
  empty: string;
  /** What to offer at the end of a row (e.g. Buy). */
  action?: (t: TicketFieldsFragment) => ReactNode;
}) {
  if (tickets.length === 0) return <p className="py-6 text-slate-600">{empty}</p>;
  return (
    <ul className="divide-y divide-slate-200 overflow-hidden rounded-lg border border-slate-200 bg-white shadow-sm" data-testid="ticket-list">
      {tickets.map((t) => (
        <li key={t.id} data-ticket-id={t.id} className="flex items-center gap-3 px-4 py-3">
          <div className="min-w-0 flex-1">
            <Link
              to={`/tickets/${t.id}`}
              className="block truncate font-medium text-slate-900 hover:text-indigo-700 hover:underline focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500"
            >
              {t.title}
            </Link>
            <p className="text-xs text-slate-500">
              Listed {formatDateTime(t.createdAt)}
              {fresh?.has(t.id) ? <span className="ml-2 font-semibold text-indigo-700">New</span> : null}
            </p>
          </div>
          <span className="whitespace-nowrap font-semibold tabular-nums">{formatPrice(t.price)}</span>
          <TicketStatusBadge status={t.status} />
          {action ? action(t) : null}
        </li>
      ))}
    </ul>
  );
}

export function LoadMore({
  hasMore,
  loading,
  onClick,
  error,
}: {
  hasMore: boolean;
  loading: boolean;
  onClick: () => void;
  error?: string | null;
}) {
  if (!hasMore && !error) return null;
  return (
    <div className="mt-4 flex flex-col items-center gap-2">
      {error ? (
        <p role="alert" className="text-sm text-red-700">
          Could not load more: {error}
        </p>
      ) : null}
      {hasMore ? (
        <button
          type="button"
          onClick={onClick}
          disabled={loading}
          className="rounded-md border border-slate-300 bg-white px-4 py-2 text-sm font-semibold text-slate-800 shadow-sm hover:bg-slate-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 disabled:opacity-50"
        >
          {loading ? 'Loading…' : 'Load more'}
        </button>
      ) : null}
    </div>
  );
}
