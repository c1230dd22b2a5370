import type { EventFieldsFragment, OrderFieldsFragment, QueuePlaceFieldsFragment, TicketFieldsFragment } from '../gql/graphql';

export function ticket(over: Partial<TicketFieldsFragment> = {}): TicketFieldsFragment {
  return {
    id: 't1',
    title: 'Concert',
    price: '20.00',
    version: 1,
    status: 'AVAILABLE',
    sellerId: 'seller',
    reservedUntil: null,
    createdAt: '2026-01-01T10:00:00Z',
    updatedAt: '2026-01-01T10:00:00Z',
    eventId: null,
    ...over,
  };
}

export function event(over: Partial<EventFieldsFragment> = {}): EventFieldsFragment {
  return {
    id: 'e1',
    name: 'Berlin Jazz Festival',
    venue: 'Philharmonie',
    city: 'Berlin',
    startsAt: '2027-03-01T19:00:00Z',
    onSaleAt: null,
    organizerId: 'organizer',
    createdAt: '2026-01-01T09:00:00Z',
    availableCount: 0,
    lowestPrice: null,
    ...over,
  };
}

/** An event as the events list and the event page read it: `listed` says whether it has any ticket. */
export function listedEvent(over: Partial<EventFieldsFragment> = {}, listed = (over.availableCount ?? 0) > 0) {
  return { ...event(over), listed: { __typename: 'TicketConnection', edges: listed ? [{ __typename: 'TicketEdge', cursor: 'x' }] : [] } };
}

export function eventConnection<N extends { id: string }>(nodes: N[], hasNextPage = false) {
  return {
    __typename: 'EventConnection',
    edges: nodes.map((n) => ({ __typename: 'EventEdge', cursor: `c-${n.id}`, node: n })),
    pageInfo: { __typename: 'PageInfo', hasNextPage, endCursor: nodes.length ? `c-${nodes[nodes.length - 1].id}` : null },
  };
}

export function connection(nodes: TicketFieldsFragment[], hasNextPage = false) {
  return {
    __typename: 'TicketConnection',
    edges: nodes.map((n) => ({ __typename: 'TicketEdge', cursor: `c-${n.id}`, node: n })),
    pageInfo: { __typename: 'PageInfo', hasNextPage, endCursor: nodes.length ? `c-${nodes[nodes.length - 1].id}` : null },
  };
}

export function order(over: Partial<OrderFieldsFragment> = {}): OrderFieldsFragment {
  return {
    id: 'o1',
    status: 'CREATED',
    expiresAt: '2026-01-01T10:15:00Z',
    buyerId: 'buyer',
    price: '20.00',
    createdAt: '2026-01-01T10:00:00Z',
    updatedAt: '2026-01-01T10:00:00Z',
    charge: null,
    ticket: ticket({ status: 'RESERVED' }),
    ...over,
  };
}

export function queuePlace(over: Partial<QueuePlaceFieldsFragment> = {}): QueuePlaceFieldsFragment {
  return {
    eventId: 'e1',
    status: 'WAITING',
    position: null,
    etaSeconds: null,
    admittedUntil: null,
    joinedAt: '2026-01-01T09:30:00Z',
    ...over,
  };
}

/** An ISO instant `seconds` from now (for countdowns on the real clock). */
export function fromNow(seconds: number): string {
  return new Date(Date.now() + seconds * 1000).toISOString();
}
