import type { TicketFieldsFragment, OrderFieldsFragment } from '../gql/graphql';

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
    ...over,
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
