import { describe, expect, it } from 'vitest';
import { act, screen, waitFor } from '@testing-library/react';
import { MyOrdersPage } from './MyOrdersPage';
import { mockClient } from '../test/mockClient';
import { renderPage } from '../test/render';
import { order, ticket } from '../test/fixtures';

describe('my orders, live', () => {
  it('adds new orders and follows their status', async () => {
    const first = order({ id: 'o1', ticket: ticket({ title: 'Opera', status: 'RESERVED' }) });
    const mock = mockClient((name) => {
      if (name === 'Me') return { data: { me: { id: 'buyer', email: 'b@example.com', createdAt: '2026-01-01T00:00:00Z' } } };
      if (name === 'Orders')
        return { data: { orders: { edges: [{ cursor: 'c1', node: first }], pageInfo: { hasNextPage: false, endCursor: 'c1' } } } };
      return undefined;
    });
    renderPage(mock.client, <MyOrdersPage />);
    await screen.findByText('Opera');
    const rowOf = (id: string) => document.querySelector(`[data-order-id="${id}"]`) as HTMLElement;
    expect(rowOf('o1')).toHaveTextContent('Awaiting payment');

    act(() => mock.push('OrderCreated', { orderCreated: order({ id: 'o2', ticket: ticket({ id: 't2', title: 'Jazz' }) }) }));
    await screen.findByText('Jazz');
    expect(screen.getAllByRole('listitem')[0]).toHaveTextContent('Jazz');

    act(() => mock.push('OrderUpdated', { orderUpdated: { ...first, status: 'COMPLETE', updatedAt: '2026-01-01T10:05:00Z' } }));
    await waitFor(() => expect(rowOf('o1')).toHaveTextContent('Paid'));
    act(() =>
      mock.push('OrderUpdated', { orderUpdated: order({ id: 'o2', status: 'CANCELLED', updatedAt: '2026-01-01T10:15:00Z', ticket: ticket({ id: 't2', title: 'Jazz' }) }) }),
    );
    await waitFor(() => expect(rowOf('o2')).toHaveTextContent('Expired'));
  });
});
