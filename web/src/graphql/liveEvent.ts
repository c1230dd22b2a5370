import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { EventFieldsFragment, TicketFieldsFragment } from '../gql/graphql';
import { mergeLive, newerTicket } from '../lib/live';
import { usePagedQuery, useSubscriptionEvents, type Connection } from './hooks';
import { EventPageQuery, EventUpdatedSubscription, TicketUpdatedSubscription } from './operations';

const NO_TICKETS: Connection<TicketFieldsFragment> = { edges: [], pageInfo: { hasNextPage: false, endCursor: null } };

/** How long to gather pushes (one change often brings eventUpdated and ticketUpdated) before refetching. */
export const REFRESH_DELAY_MS = 200;

/**
 * An event and its tickets on sale cheapest first, kept live: eventUpdated replaces the shown
 * availableCount and lowest price at once; then (as after ticketUpdated of one of its tickets, or
 * `refresh()`) the list is fetched again, since a ticket may have come, gone or moved in the
 * order. `liveTickets: false` leaves out ticketUpdated (every ticket's changes: a waiting room
 * full of buyers need not hear them).
 */
export function useLiveEvent(id: string, { liveTickets = true }: { liveTickets?: boolean } = {}) {
  const list = usePagedQuery(EventPageQuery, { id }, (d) => d.event?.tickets ?? NO_TICKETS);
  const queried = list.data?.event ?? undefined;
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
  useSubscriptionEvents(
    TicketUpdatedSubscription,
    {},
    (d) => {
      const t = d.ticketUpdated;
      if (t.eventId !== id) return;
      setUpdates((m) => {
        const prev = m.get(t.id);
        if (prev && prev.version >= t.version) return m;
        return new Map(m).set(t.id, t);
      });
      refresh();
    },
    !liveTickets,
  );

  const tickets = useMemo(() => mergeLive(list.items, [], updates, newerTicket), [list.items, updates]);
  const event: EventFieldsFragment | undefined =
    queried && pushed && pushed.over === list.data && pushed.event.id === queried.id ? { ...queried, ...pushed.event } : queried;
  /** Whether the event has had any ticket (sold out vs. no tickets yet). */
  const listed = !!queried && (queried.listed.edges.length > 0 || (event?.availableCount ?? 0) > 0);

  return { list, event, listed, tickets, updates, refresh };
}
