import { describe, expect, it } from 'vitest';
import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { QueuePage } from './QueuePage';
import { mockClient, type Reply } from '../test/mockClient';
import { renderPage } from '../test/render';
import { connection, event, fromNow, listedEvent, order, queuePlace, ticket } from '../test/fixtures';
import type { EventFieldsFragment, QueuePlaceFieldsFragment, TicketFieldsFragment } from '../gql/graphql';

interface Server {
  event: EventFieldsFragment;
  listed?: boolean;
  tickets: TicketFieldsFragment[];
  place: QueuePlaceFieldsFragment | null;
  join?: () => Reply;
}

function setup(server: Server) {
  const mock = mockClient((name) => {
    if (name === 'Me') return { data: { me: { __typename: 'User', id: 'buyer', email: 'buyer@example.com', createdAt: '2026-01-01T00:00:00Z' } } };
    if (name === 'EventPage') {
      return {
        data: { event: { ...listedEvent(server.event, server.listed ?? server.event.availableCount > 0), tickets: connection(server.tickets) } },
      };
    }
    if (name === 'QueuePlace') return { data: { queuePlace: server.place } };
    if (name === 'JoinQueue') return server.join?.();
    if (name === 'CreateOrder') return { data: { createOrder: order({ id: 'o9' }) } };
    return undefined;
  });
  const r = renderPage(mock.client, <QueuePage />, { path: '/events/:id/queue', url: '/events/e1/queue' });
  const asked = (name: string) => mock.calls.filter((c) => c.name === name).length;
  const push = (p: Partial<QueuePlaceFieldsFragment>) => act(() => mock.push('QueueUpdated', { queueUpdated: queuePlace(p) }));
  return { ...mock, ...r, asked, push };
}

const place = () => screen.getByTestId('queue-place');
const cheap = ticket({ id: 'a', title: 'Balcony, seat 12', price: '12.50', eventId: 'e1', sellerId: 'seller' });
const dear = ticket({ id: 'b', title: 'Front row', price: '65.00', eventId: 'e1', sellerId: 'seller' });

describe('the queue page', () => {
  it('before the draw: you are in, the order is drawn at the on-sale time, with a countdown', async () => {
    const onSaleAt = fromNow(90);
    const mock = setup({ event: event({ onSaleAt, availableCount: 2, lowestPrice: '12.50' }), tickets: [cheap, dear], place: queuePlace() });
    expect(await screen.findByRole('heading', { name: 'You’re in' })).toBeInTheDocument();
    expect(screen.getByTestId('queue-draw')).toHaveTextContent(/The order is drawn at/);
    expect(screen.getByTestId('queue-draw').querySelector('time')).toHaveAttribute('dateTime', onSaleAt);
    expect(screen.getByRole('timer')).toHaveTextContent(/^1:[23]\d until the draw$/);
    // Live from queueUpdated; the tickets are not offered before a turn.
    expect(mock.calls.find((c) => c.name === 'QueueUpdated')?.variables).toEqual({ eventId: 'e1' });
    expect(screen.queryByRole('button', { name: /Buy for/ })).not.toBeInTheDocument();
    expect(mock.calls.some((c) => c.name === 'TicketUpdated')).toBe(false);
  });

  it('follows the pushes: WAITING with position, wait and progress, then ADMITTED with Buy, then EXPIRED', async () => {
    const server: Server = { event: event({ onSaleAt: fromNow(-5), availableCount: 2, lowestPrice: '12.50' }), tickets: [cheap, dear], place: queuePlace() };
    const mock = setup(server);
    await screen.findByRole('heading', { name: 'You’re in' });

    // The draw puts the viewer 40th; one is let in a second.
    mock.push({ position: 40, etaSeconds: 40 });
    expect(place()).toHaveAttribute('data-status', 'WAITING');
    expect(screen.getByTestId('queue-position')).toHaveTextContent('#40');
    expect(screen.getByText('39 buyers ahead of you.')).toBeInTheDocument();
    expect(screen.getByTestId('queue-eta')).toHaveTextContent('Estimated wait: about 40 seconds');
    const bar = screen.getByRole('progressbar', { name: 'Your progress in the queue' });
    expect(bar).toHaveAttribute('aria-valuenow', '0');

    mock.push({ position: 10, etaSeconds: 150 });
    expect(screen.getByTestId('queue-position')).toHaveTextContent('#10');
    expect(screen.getByTestId('queue-eta')).toHaveTextContent('Estimated wait: about 3 minutes');
    expect(bar).toHaveAttribute('aria-valuenow', '75');
    expect(bar).toHaveAttribute('aria-valuetext', '30 of 40 places let in since you got yours');

    // A late, older snapshot does not move the viewer back.
    mock.push({ position: 25, etaSeconds: 25 });
    expect(screen.getByTestId('queue-position')).toHaveTextContent('#10');
    mock.push({ position: 1, etaSeconds: 1 });
    expect(screen.getByText('You’re next.')).toBeInTheDocument();
    expect(bar).toHaveAttribute('aria-valuenow', '98');

    // Admitted: the countdown to admittedUntil and the tickets, read again, cheapest first, with Buy.
    const before = mock.asked('EventPage');
    mock.push({ status: 'ADMITTED', admittedUntil: fromNow(120) });
    expect(screen.getByRole('heading', { name: 'It’s your turn' })).toBeInTheDocument();
    expect(screen.getByRole('timer')).toHaveTextContent(/^(2:00|1:5\d) left to buy$/);
    expect(screen.queryByRole('progressbar')).not.toBeInTheDocument();
    await waitFor(() => expect(mock.asked('EventPage')).toBeGreaterThan(before));
    const list = within(screen.getByTestId('ticket-list'));
    expect(list.getAllByRole('link').map((a) => a.textContent)).toEqual(['Balcony, seat 12', 'Front row']);
    expect(list.getByRole('button', { name: 'Buy for $12.50' })).toBeEnabled();
    expect(list.getByRole('button', { name: 'Buy for $65.00' })).toBeEnabled();
    expect(mock.calls.some((c) => c.name === 'TicketUpdated')).toBe(true); // the list is live now

    // The turn ends with tickets left.
    mock.push({ status: 'EXPIRED', admittedUntil: '2026-01-01T10:10:00Z' });
    expect(place()).toHaveAttribute('data-status', 'EXPIRED');
    expect(screen.getByText('Your admission ended')).toBeInTheDocument();
    expect(screen.queryByText('Sold out')).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /Buy for/ })).not.toBeInTheDocument();
    expect(screen.queryByRole('timer')).not.toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Back to Berlin Jazz Festival' })).toHaveAttribute('href', '/events/e1');
  });

  it('buys from the admitted list: the version shown, then the order', async () => {
    const user = userEvent.setup();
    const mock = setup({
      event: event({ onSaleAt: fromNow(-60), availableCount: 1, lowestPrice: '12.50' }),
      tickets: [{ ...cheap, version: 3 }],
      place: queuePlace({ status: 'ADMITTED', admittedUntil: fromNow(300) }),
    });
    await user.click(await screen.findByRole('button', { name: 'Buy for $12.50' }));
    await screen.findByText('elsewhere'); // the order page
    expect(mock.calls.find((c) => c.name === 'CreateOrder')?.variables).toEqual({ ticketId: 'a', expectedVersion: 3 });
  });

  it('says sold out when the place expires while waiting', async () => {
    const mock = setup({ event: event({ onSaleAt: fromNow(-5), availableCount: 1, lowestPrice: '12.50' }), tickets: [cheap], place: queuePlace({ position: 7, etaSeconds: 7 }) });
    await screen.findByTestId('queue-position');
    mock.push({ status: 'EXPIRED' });
    expect(await screen.findByTestId('queue-ended')).toHaveTextContent('Sold out');
    expect(screen.getByText(/Every ticket was sold while you were waiting/)).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Back to Berlin Jazz Festival' })).toBeInTheDocument();
  });

  it('says sold out when the turn ends with nothing left', async () => {
    setup({
      event: event({ onSaleAt: fromNow(-600), availableCount: 0 }),
      listed: true,
      tickets: [],
      place: queuePlace({ status: 'EXPIRED', admittedUntil: fromNow(-10) }),
    });
    expect(await screen.findByTestId('queue-ended')).toHaveTextContent('Sold out');
    expect(screen.queryByText('Your admission ended')).not.toBeInTheDocument();
  });

  it('reads the place again after a reconnect (pushes may have been missed)', async () => {
    const server: Server = { event: event({ onSaleAt: fromNow(-5), availableCount: 1, lowestPrice: '12.50' }), tickets: [cheap], place: queuePlace({ position: 30, etaSeconds: 30 }) };
    const mock = setup(server);
    await screen.findByText('#30');
    const before = mock.asked('QueuePlace');
    server.place = queuePlace({ status: 'ADMITTED', admittedUntil: fromNow(60) });
    mock.reconnect();
    await screen.findByRole('heading', { name: 'It’s your turn' });
    expect(mock.asked('QueuePlace')).toBe(before + 1);
  });

  it('offers to join when the viewer is not in the queue', async () => {
    const user = userEvent.setup();
    const server: Server = {
      event: event({ onSaleAt: fromNow(600) }),
      tickets: [],
      place: null,
      join: () => ({ data: { joinQueue: queuePlace() } }),
    };
    const mock = setup(server);
    await user.click(await screen.findByRole('button', { name: 'Join the queue' }));
    expect(await screen.findByRole('heading', { name: 'You’re in' })).toBeInTheDocument();
    expect(mock.calls.find((c) => c.name === 'JoinQueue')?.variables).toEqual({ eventId: 'e1' });
  });
});
