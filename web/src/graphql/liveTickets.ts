import { useMemo, useState } from 'react';
import type { TicketFieldsFragment, TicketStatus } from '../gql/graphql';
import { mergeLive, newerTicket } from '../lib/live';
import { TicketCreatedSubscription, TicketUpdatedSubscription } from './operations';
import { useSubscriptionEvents } from './hooks';

/**
 * Keeps a queried list of tickets live: new listings that match `accept` are put on top
 * (ticketCreated), and every change of any ticket replaces the shown snapshot when newer
 * (ticketUpdated without an id: all tickets). A ticket that stops matching the filter (e.g. gets
 * reserved while "On sale" is shown) stays in place with its new badge until the next refetch.
 */
export function useLiveTickets(queried: TicketFieldsFragment[], accept: (t: TicketFieldsFragment) => boolean, pause = false) {
  const [created, setCreated] = useState<TicketFieldsFragment[]>([]);
  const [updates, setUpdates] = useState<Map<string, TicketFieldsFragment>>(() => new Map());

  useSubscriptionEvents(
    TicketCreatedSubscription,
    {},
    (d) => {
      const t = d.ticketCreated;
      if (accept(t)) setCreated((c) => (c.some((x) => x.id === t.id) ? c : [t, ...c]));
    },
    pause,
  );
  useSubscriptionEvents(
    TicketUpdatedSubscription,
    {},
    (d) => {
      const t = d.ticketUpdated;
      setUpdates((m) => {
        const prev = m.get(t.id);
        if (prev && prev.version >= t.version) return m;
        const next = new Map(m);
        next.set(t.id, t);
        return next;
      });
    },
    pause,
  );

  const items = useMemo(() => mergeLive(queried, created, updates, newerTicket), [queried, created, updates]);
  const fresh = useMemo(() => {
    const q = new Set(queried.map((t) => t.id));
    return new Set(created.filter((t) => !q.has(t.id)).map((t) => t.id));
  }, [queried, created]);
  return { items, fresh };
}

export function statusAccept(status: TicketStatus | null) {
  return (t: TicketFieldsFragment) => status === null || t.status === status;
}
