import { useCallback } from 'react';
import { Link } from 'react-router';
import type { TicketFieldsFragment } from '../gql/graphql';
import { SellerTicketsQuery } from '../graphql/operations';
import { usePagedQuery } from '../graphql/hooks';
import { useLiveTickets } from '../graphql/liveTickets';
import { useAuth } from '../auth';
import { LoadMore, TicketList } from '../components/TicketList';
import { Alert, Loading, PageTitle, buttonClass } from '../components/ui';

export function MyTicketsPage() {
  const { me } = useAuth();
  const sellerId = me?.id ?? '';
  const list = usePagedQuery(SellerTicketsQuery, { sellerId }, (d) => d.tickets, !sellerId);
  const accept = useCallback((t: TicketFieldsFragment) => t.sellerId === sellerId, [sellerId]);
  const { items } = useLiveTickets(list.items, accept, !sellerId);

  return (
    <div>
      <div className="mb-4 flex flex-wrap items-center justify-between gap-3">
        <PageTitle flush>My tickets</PageTitle>
        <Link to="/sell" className={buttonClass('primary')}>
          Sell a ticket
        </Link>
      </div>
      {list.loading ? (
        <Loading label="Loading your tickets…" />
      ) : list.error && items.length === 0 ? (
        <Alert title="Could not load your tickets">{list.error.message}</Alert>
      ) : (
        <>
          <TicketList tickets={items} empty="You have not listed any tickets yet." />
          <LoadMore hasMore={list.hasMore} loading={list.loadingMore} onClick={list.loadMore} error={list.moreError?.message} />
        </>
      )}
    </div>
  );
}
