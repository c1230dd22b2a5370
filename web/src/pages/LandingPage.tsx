import { useMemo } from 'react';
import { Link, useSearchParams } from 'react-router';
import { TicketsQuery } from '../graphql/operations';
import { usePagedQuery } from '../graphql/hooks';
import { statusAccept, useLiveTickets } from '../graphql/liveTickets';
import { LoadMore, TicketList } from '../components/TicketList';
import { Alert, Loading, PageTitle, buttonClass } from '../components/ui';

export function LandingPage() {
  const [params, setParams] = useSearchParams();
  const showAll = params.get('show') === 'all';
  const status = showAll ? null : ('AVAILABLE' as const);
  const list = usePagedQuery(TicketsQuery, { status }, (d) => d.tickets);
  const accept = useMemo(() => statusAccept(status), [status]);
  const { items, fresh } = useLiveTickets(list.items, accept);

  return (
    <div>
      <div className="mb-4 flex flex-wrap items-center justify-between gap-3">
        <PageTitle flush>{showAll ? 'All tickets' : 'On sale'}</PageTitle>
        <div className="flex items-center gap-2">
          <div role="group" aria-label="Show" className="inline-flex overflow-hidden rounded-md border border-slate-300 bg-white text-sm">
            <button
              type="button"
              aria-pressed={!showAll}
              onClick={() => setParams({}, { replace: true })}
              className={`px-3 py-1.5 focus:outline-none focus-visible:ring-2 focus-visible:ring-inset focus-visible:ring-indigo-500 ${!showAll ? 'bg-indigo-600 text-white' : 'text-slate-700'}`}
            >
              On sale
            </button>
            <button
              type="button"
              aria-pressed={showAll}
              onClick={() => setParams({ show: 'all' }, { replace: true })}
              className={`px-3 py-1.5 focus:outline-none focus-visible:ring-2 focus-visible:ring-inset focus-visible:ring-indigo-500 ${showAll ? 'bg-indigo-600 text-white' : 'text-slate-700'}`}
            >
              All
            </button>
          </div>
          <Link to="/sell" className={buttonClass('primary')}>
            Sell a ticket
          </Link>
        </div>
      </div>
      <p className="sr-only" aria-live="polite">
        {fresh.size > 0 ? `${fresh.size} new ${fresh.size === 1 ? 'listing' : 'listings'}` : ''}
      </p>
      {list.loading ? (
        <Loading label="Loading tickets…" />
      ) : list.error && items.length === 0 ? (
        <Alert title="Could not load tickets">{list.error.message}</Alert>
      ) : (
        <>
          <TicketList tickets={items} fresh={fresh} empty={showAll ? 'No tickets yet.' : 'Nothing on sale right now. New listings appear here as they come.'} />
          <LoadMore hasMore={list.hasMore} loading={list.loadingMore} onClick={list.loadMore} error={list.moreError?.message} />
        </>
      )}
    </div>
  );
}
