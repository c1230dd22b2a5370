import { describe, expect, it } from 'vitest';
import { act, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { TicketPage } from './TicketPage';
import { gqlError, mockClient } from '../test/mockClient';
import { renderPage } from '../test/render';
import { event, fromNow, queuePlace, ticket } from '../test/fixtures';
import type { EventFieldsFragment, QueuePlaceFieldsFragment, TicketFieldsFragment } from '../gql/graphql';

function setup(
  me: string | null,
  server: {
    current: TicketFieldsFragment;
    event?: EventFieldsFragment;
    update?: () => ReturnType<typeof gqlError> | { data: unknown };
    place?: QueuePlaceFieldsFragment | null;
  },
) {
  const mock = mockClient((name) => {
    if (name === 'Me') return { data: { me: me ? { __typename: 'User', id: me, email: `${me}@example.com`, createdAt: '2026-01-01T00:00:00Z' } : null } };
    if (name === 'Ticket') return { data: { ticket: { ...server.current, event: server.event ?? null } } };
    if (name === 'UpdateTicket') return server.update?.();
    if (name === 'CreateOrder') return gqlError('CONFLICT', 'the ticket changed since version 1');
    if (name === 'QueuePlace') return { data: { queuePlace: server.place ?? null } };
    return undefined;
  });
  renderPage(mock.client, <TicketPage />, { path: '/tickets/:id', url: '/tickets/t1' });
  return mock;
}

describe('the ticket page', () => {
  it('sends signed-out visitors to sign in to buy', async () => {
    setup(null, { current: ticket() });
    const link = await screen.findByRole('link', { name: 'Sign in to buy' });
    expect(link).toHaveAttribute('href', '/signin?next=%2Ftickets%2Ft1');
  });

  it('names the ticket’s event, linked to its page', async () => {
    setup(null, { current: ticket({ eventId: 'e1' }), event: event() });
    const link = await screen.findByRole('link', { name: 'Berlin Jazz Festival' });
    expect(link).toHaveAttribute('href', '/events/e1');
    expect(screen.getByTestId('ticket-event')).toHaveTextContent('Philharmonie, Berlin');
  });

  it('says nothing of an event for a ticket without one', async () => {
    setup(null, { current: ticket() });
    await screen.findByRole('link', { name: 'Sign in to buy' });
    expect(screen.queryByTestId('ticket-event')).not.toBeInTheDocument();
  });

  it('disables Buy while the ticket is reserved, live', async () => {
    const mock = setup('buyer', { current: ticket() });
    const buy = await screen.findByRole('button', { name: 'Buy for $20.00' });
    expect(buy).toBeEnabled();
    act(() => mock.push('TicketUpdated', { ticketUpdated: ticket({ version: 2, status: 'RESERVED' }) }));
    await waitFor(() => expect(screen.getByRole('button', { name: /Buy for/ })).toBeDisabled());
    expect(screen.getByTestId('ticket-status')).toHaveTextContent('Reserved');
    expect(screen.getByText(/Someone is buying this ticket right now/)).toBeInTheDocument();
  });

  it('explains a stale version when buying and shows the current one', async () => {
    const user = userEvent.setup();
    const server = { current: ticket() };
    setup('buyer', server);
    const buy = await screen.findByRole('button', { name: 'Buy for $20.00' });
    server.current = ticket({ version: 2, price: '25.00' });
    await user.click(buy);
    const alert = await screen.findByText(/This ticket changed while you were looking at it/);
    expect(alert.parentElement).toHaveTextContent('Someone changed it meanwhile; here is the current version');
    expect(alert.parentElement).toHaveTextContent('$25.00');
    expect(screen.getByRole('button', { name: 'Buy for $25.00' })).toBeEnabled();
  });

  it('lets the seller edit with expectedVersion and explains a CONFLICT', async () => {
    const user = userEvent.setup();
    const server = {
      current: ticket({ sellerId: 'seller' }),
      update: () => gqlError('CONFLICT', 'the ticket changed since version 1'),
    };
    const mock = setup('seller', server);
    await user.click(await screen.findByRole('button', { name: 'Edit' }));
    await user.clear(screen.getByLabelText('Price (USD)'));
    await user.type(screen.getByLabelText('Price (USD)'), '30');
    // Meanwhile, in another tab, the seller changed the title.
    server.current = ticket({ sellerId: 'seller', version: 2, title: 'Concert (front row)' });
    await user.click(screen.getByRole('button', { name: 'Save changes' }));

    expect(await screen.findByText('Not saved: someone changed this ticket meanwhile')).toBeInTheDocument();
    expect(screen.getByText(/Here is the current version \(version 2\)/)).toBeInTheDocument();
    expect(screen.getByRole('heading', { level: 1 })).toHaveTextContent('Concert (front row)');
    expect(mock.calls.find((c) => c.name === 'UpdateTicket')?.variables).toEqual({
      id: 't1',
      input: { title: 'Concert', price: '30.00', expectedVersion: 1 },
    });
  });

  it('disables Edit with the reason while reserved', async () => {
    setup('seller', { current: ticket({ sellerId: 'seller', status: 'RESERVED' }) });
    const edit = await screen.findByRole('button', { name: 'Edit' });
    expect(edit).toBeDisabled();
    expect(edit).toHaveAccessibleDescription(/cannot edit this ticket while it is reserved/);
  });
});

describe('a ticket of an event on sale through its queue', () => {
  const queued = (onSaleIn: number) => event({ onSaleAt: fromNow(onSaleIn), availableCount: 1, lowestPrice: '20.00' });

  it('disables Buy before the sale and without a place, pointing to the queue', async () => {
    const mock = setup('buyer', { current: ticket({ eventId: 'e1' }), event: queued(600), place: null });
    expect(await screen.findByRole('link', { name: 'Join the queue on the event’s page' })).toHaveAttribute('href', '/events/e1');
    const buy = screen.getByRole('button', { name: 'Buy for $20.00' });
    expect(buy).toBeDisabled();
    expect(buy).toHaveAccessibleDescription(/On sale from .* through the event's queue/);
    expect(mock.calls.find((c) => c.name === 'QueuePlace')?.variables).toEqual({ eventId: 'e1' });
  });

  it('disables Buy while waiting, with a link to the place', async () => {
    setup('buyer', { current: ticket({ eventId: 'e1' }), event: queued(-30), place: queuePlace({ position: 4, etaSeconds: 4 }) });
    expect(await screen.findByRole('link', { name: 'See your place in the queue' })).toHaveAttribute('href', '/events/e1/queue');
    expect(screen.getByRole('button', { name: 'Buy for $20.00' })).toBeDisabled();
  });

  it('enables Buy during the viewer’s turn', async () => {
    setup('buyer', { current: ticket({ eventId: 'e1' }), event: queued(-30), place: queuePlace({ status: 'ADMITTED', admittedUntil: fromNow(300) }) });
    await waitFor(() => expect(screen.getByRole('button', { name: 'Buy for $20.00' })).toBeEnabled());
    expect(screen.getByText('Buying holds the ticket for you while you pay.')).toBeInTheDocument();
  });

  it('disables Buy once the turn has ended', async () => {
    setup('buyer', { current: ticket({ eventId: 'e1' }), event: queued(-900), place: queuePlace({ status: 'EXPIRED', admittedUntil: fromNow(-300) }) });
    expect(await screen.findByText(/your turn there has ended/)).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Buy for $20.00' })).toBeDisabled();
  });
});
