import { describe, expect, it } from 'vitest';
import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { print } from 'graphql';
import { EventPage } from './EventPage';
import { gqlError, mockClient, type Reply } from '../test/mockClient';
import { renderPage } from '../test/render';
import { connection, event, fromNow, listedEvent, order, queuePlace, ticket } from '../test/fixtures';
import type { EventFieldsFragment, QueuePlaceFieldsFragment, TicketFieldsFragment } from '../gql/graphql';
import { formatEventTime } from '../lib/format';

interface Server {
  event: EventFieldsFragment | null;
  listed?: boolean;
  /** Pages of tickets on sale, by `after` ('' for the first). */
  pages: Record<string, TicketFieldsFragment[]>;
  more?: Record<string, boolean>;
  /** The viewer's place in the event's queue. */
  place?: QueuePlaceFieldsFragment | null;
  join?: () => Reply;
}

function setup(me: string | null, server: Server) {
  const documents: string[] = [];
  const mock = mockClient((name, vars, op) => {
    if (name === 'Me') return { data: { me: me ? { __typename: 'User', id: me, email: `${me}@example.com`, createdAt: '2026-01-01T00:00:00Z' } : null } };
    if (name === 'EventPage') {
      documents.push(print(op.query));
      if (!server.event) return { data: { event: null } };
      const after = String(vars.after ?? '');
      return {
        data: {
          event: {
            ...listedEvent(server.event, server.listed ?? server.event.availableCount > 0),
            tickets: connection(server.pages[after] ?? [], server.more?.[after] ?? false),
          },
        },
      };
    }
    if (name === 'CreateOrder') return { data: { createOrder: order({ id: 'o9' }) } };
    if (name === 'QueuePlace') return { data: { queuePlace: server.place ?? null } };
    if (name === 'JoinQueue') return server.join?.();
    return undefined;
  });
  renderPage(mock.client, <EventPage />, { path: '/events/:id', url: '/events/e1' });
  const asked = () => mock.calls.filter((c) => c.name === 'EventPage').length;
  return { ...mock, documents, asked };
}

const titles = () => within(screen.getByTestId('ticket-list')).getAllByRole('link').map((a) => a.textContent);
const a = ticket({ id: 'a', title: 'Balcony, seat 12', price: '12.50', eventId: 'e1' });
const b = ticket({ id: 'b', title: 'Stalls, row 3', price: '30.00', eventId: 'e1' });
const c = ticket({ id: 'c', title: 'Front row', price: '65.00', eventId: 'e1' });

describe('the event page', () => {
  it('shows the event and its tickets on sale, cheapest first, with Load more', async () => {
    const user = userEvent.setup();
    const mock = setup(null, {
      event: event({ availableCount: 3, lowestPrice: '12.50' }),
      pages: { '': [a, b], 'c-b': [c] },
      more: { '': true },
    });
    expect(await screen.findByRole('heading', { level: 1, name: 'Berlin Jazz Festival' })).toBeInTheDocument();
    expect(screen.getByText('Philharmonie · Berlin')).toBeInTheDocument();
    expect(screen.getByTestId('event-lowest-price')).toHaveTextContent('from $12.50');
    expect(screen.getByTestId('event-available-count')).toHaveTextContent('3 on sale');
    // It asks the server for what is on sale, cheapest first, and keeps the server's order.
    expect(mock.documents[0]).toMatch(/tickets\(first: \$first, after: \$after, status: AVAILABLE, orderBy: PRICE_ASC\)/);
    expect(titles()).toEqual(['Balcony, seat 12', 'Stalls, row 3']);
    expect(screen.getByRole('link', { name: 'Balcony, seat 12' })).toHaveAttribute('href', '/tickets/a');

    await user.click(screen.getByRole('button', { name: 'Load more' }));
    await screen.findByText('Front row');
    expect(titles()).toEqual(['Balcony, seat 12', 'Stalls, row 3', 'Front row']);
    expect(mock.calls.filter((x) => x.name === 'EventPage').at(-1)?.variables).toEqual({ id: 'e1', first: 20, after: 'c-b' });
  });

  it('follows availableCount and the lowest price live, and refetches the list', async () => {
    const server: Server = { event: event({ availableCount: 2, lowestPrice: '12.50' }), listed: true, pages: { '': [a, b] } };
    const mock = setup(null, server);
    await screen.findByText('Balcony, seat 12');
    const before = mock.asked();

    // Someone reserves the cheapest ticket.
    server.event = event({ availableCount: 1, lowestPrice: '30.00' });
    server.pages[''] = [b];
    act(() => mock.push('EventUpdated', { eventUpdated: event({ availableCount: 1, lowestPrice: '30.00' }) }));
    expect(screen.getByTestId('event-lowest-price')).toHaveTextContent('from $30.00');
    expect(screen.getByTestId('event-available-count')).toHaveTextContent('1 on sale');
    expect(screen.getByTestId('event-live')).toHaveTextContent('1 on sale · from $30.00');
    await waitFor(() => expect(screen.queryByText('Balcony, seat 12')).not.toBeInTheDocument());
    expect(mock.asked()).toBeGreaterThan(before);
    expect(titles()).toEqual(['Stalls, row 3']);

    server.event = event({ availableCount: 0, lowestPrice: null });
    server.pages[''] = [];
    act(() => mock.push('EventUpdated', { eventUpdated: event({ availableCount: 0, lowestPrice: null }) }));
    expect(screen.getByTestId('event-availability')).toHaveTextContent('Sold out');
    expect(await screen.findByText(/Nothing on sale right now/)).toBeInTheDocument();
  });

  it('marks a listed ticket that gets reserved, then drops it with the refetch', async () => {
    const server: Server = { event: event({ availableCount: 2, lowestPrice: '12.50' }), pages: { '': [a, b] } };
    const mock = setup(null, server);
    await screen.findByText('Balcony, seat 12');
    server.pages[''] = [b];
    act(() => mock.push('TicketUpdated', { ticketUpdated: { ...a, version: 2, status: 'RESERVED' } }));
    act(() => mock.push('TicketUpdated', { ticketUpdated: ticket({ id: 'elsewhere', eventId: 'e2' }) })); // another event's
    expect(within(screen.getByTestId('ticket-list')).getByText('Reserved')).toBeInTheDocument();
    await waitFor(() => expect(titles()).toEqual(['Stalls, row 3']));
  });

  it('says so for an unknown event', async () => {
    setup(null, { event: null, pages: {} });
    expect(await screen.findByRole('heading', { name: 'Event not found' })).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'See upcoming events' })).toHaveAttribute('href', '/events');
  });
});

describe('watching an event', () => {
  it('shows each ticket that frees up under the max price at once, signed out too', async () => {
    const user = userEvent.setup();
    const mock = setup(null, { event: event({ availableCount: 0 }), listed: true, pages: {} });
    await screen.findByText(/Nothing on sale right now/);
    await user.type(screen.getByLabelText('Max price (USD)'), '20');
    await user.click(screen.getByRole('button', { name: 'Watch' }));
    expect(mock.calls.find((x) => x.name === 'TicketAvailable')?.variables).toEqual({ eventId: 'e1', maxPrice: '20.00' });
    expect(screen.getByTestId('watching')).toHaveTextContent('Watching for tickets at or under $20.00');
    expect(screen.getByLabelText('Max price (USD)')).toBeDisabled();

    act(() => mock.push('TicketAvailable', { ticketAvailable: { ...a, version: 3 } }));
    const freed = within(await screen.findByTestId('just-available'));
    expect(freed.getByRole('link', { name: 'Balcony, seat 12' })).toHaveAttribute('href', '/tickets/a');
    expect(freed.getByText('$12.50')).toBeInTheDocument();
    expect(freed.getByRole('link', { name: 'Sign in to buy' })).toHaveAttribute('href', '/signin?next=%2Ftickets%2Fa');
    expect(screen.getByText('Just available: Balcony, seat 12 for $12.50')).toBeInTheDocument();

    // Stopped: nothing more is added.
    await user.click(screen.getByRole('button', { name: 'Stop watching' }));
    act(() => mock.push('TicketAvailable', { ticketAvailable: { ...b, price: '15.00' } }));
    expect(screen.queryByText('Stalls, row 3')).not.toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Watch' })).toBeInTheDocument();
  });

  it('watches at any price with no max, and Buy reserves the version seen', async () => {
    const user = userEvent.setup();
    const mock = setup('buyer', { event: event({ availableCount: 0 }), listed: true, pages: {} });
    await user.click(await screen.findByRole('button', { name: 'Watch' }));
    expect(mock.calls.find((x) => x.name === 'TicketAvailable')?.variables).toEqual({ eventId: 'e1' });
    act(() => mock.push('TicketAvailable', { ticketAvailable: { ...c, version: 4 } }));
    await user.click(await within(screen.getByTestId('just-available')).findByRole('button', { name: 'Buy for $65.00' }));
    await screen.findByText('elsewhere'); // the order page
    expect(mock.calls.find((x) => x.name === 'CreateOrder')?.variables).toEqual({ ticketId: 'c', expectedVersion: 4 });
  });

  it('stops offering a ticket someone else reserved meanwhile', async () => {
    const user = userEvent.setup();
    const mock = setup('buyer', { event: event({ availableCount: 0 }), listed: true, pages: {} });
    await user.click(await screen.findByRole('button', { name: 'Watch' }));
    act(() => mock.push('TicketAvailable', { ticketAvailable: { ...a, version: 3 } }));
    await within(screen.getByTestId('just-available')).findByRole('button', { name: 'Buy for $12.50' });
    act(() => mock.push('TicketUpdated', { ticketUpdated: { ...a, version: 4, status: 'RESERVED' } }));
    const freed = within(screen.getByTestId('just-available'));
    expect(freed.getByText('Reserved')).toBeInTheDocument();
    expect(freed.queryByRole('button', { name: /Buy for/ })).not.toBeInTheDocument();
  });

  it('checks the max price before watching', async () => {
    const user = userEvent.setup();
    const mock = setup(null, { event: event(), pages: {} });
    await user.type(await screen.findByLabelText('Max price (USD)'), '12.345');
    await user.click(screen.getByRole('button', { name: 'Watch' }));
    expect(screen.getByText('Max price (USD) must have at most 2 decimals')).toBeInTheDocument();
    expect(mock.calls.some((x) => x.name === 'TicketAvailable')).toBe(false);
  });
});

describe('buying from the event page', () => {
  it('offers Buy for each ticket on sale to a signed-in buyer, for the version shown', async () => {
    const user = userEvent.setup();
    const mock = setup('buyer', { event: event({ availableCount: 2, lowestPrice: '12.50' }), pages: { '': [{ ...a, version: 2 }, b] } });
    const list = within(await screen.findByTestId('ticket-list'));
    expect(list.getByRole('button', { name: 'Buy for $30.00' })).toBeEnabled();
    await user.click(list.getByRole('button', { name: 'Buy for $12.50' }));
    await screen.findByText('elsewhere'); // the order page
    expect(mock.calls.find((x) => x.name === 'CreateOrder')?.variables).toEqual({ ticketId: 'a', expectedVersion: 2 });
    expect(mock.calls.some((x) => x.name === 'QueuePlace')).toBe(false); // no queue, nothing to ask
  });

  it('offers no Buy to a seller for their own ticket, nor signed out', async () => {
    setup('seller', { event: event({ availableCount: 1, lowestPrice: '12.50' }), pages: { '': [a] } });
    await screen.findByText('Balcony, seat 12');
    expect(screen.queryByRole('button', { name: /Buy for/ })).not.toBeInTheDocument();
  });
});

describe('an event on sale through its queue', () => {
  const queued = (over: Partial<EventFieldsFragment> = {}) => event({ onSaleAt: fromNow(600), availableCount: 2, lowestPrice: '12.50', ...over });

  it('shows the on-sale time, offers to join instead of watching, and disables Buy', async () => {
    const user = userEvent.setup();
    const mock = setup('buyer', { event: queued(), pages: { '': [a, b] }, place: null, join: () => ({ data: { joinQueue: queuePlace() } }) });
    const section = within(await screen.findByTestId('queue-section'));
    expect(screen.getByTestId('event-on-sale-at')).toBeInTheDocument();
    expect(section.getByText(/Tickets go on sale at/)).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Watch' })).not.toBeInTheDocument();
    const buy = within(screen.getByTestId('ticket-list')).getByRole('button', { name: 'Buy for $12.50' });
    expect(buy).toBeDisabled();
    expect(buy).toHaveAccessibleDescription(/to buyers in the queue, in turn/);

    await user.click(await section.findByRole('button', { name: 'Join the queue' }));
    await screen.findByText('elsewhere'); // the queue's page
    expect(mock.calls.find((x) => x.name === 'JoinQueue')?.variables).toEqual({ eventId: 'e1' });
    expect(mock.calls.some((x) => x.name === 'CreateOrder')).toBe(false);
  });

  it('explains a CONFLICT from joinQueue, with its time in local time', async () => {
    const user = userEvent.setup();
    setup('buyer', {
      event: queued(),
      pages: { '': [a] },
      place: null,
      join: () => gqlError('CONFLICT', 'the queue opens at 2027-03-01T18:30:00+00:00'),
    });
    await user.click(await screen.findByRole('button', { name: 'Join the queue' }));
    expect(await screen.findByText('You cannot join the queue now')).toBeInTheDocument();
    expect(screen.getByText(`The queue opens at ${formatEventTime('2027-03-01T18:30:00+00:00')}`)).toBeInTheDocument();
    expect(screen.queryByText('elsewhere')).not.toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Join the queue' })).toBeEnabled(); // may try again
  });

  it('says when the queue opens, before it does', async () => {
    setup('buyer', { event: queued({ onSaleAt: fromNow(3 * 3600) }), pages: { '': [a] }, place: null });
    expect(await screen.findByTestId('queue-opens')).toHaveTextContent(/^Queue opens at /);
    expect(screen.queryByRole('button', { name: 'Join the queue' })).not.toBeInTheDocument();
  });

  it('asks a signed-out visitor to sign in to join', async () => {
    const mock = setup(null, { event: queued(), pages: { '': [a] } });
    const link = await screen.findByRole('link', { name: 'Sign in to join the queue' });
    expect(link).toHaveAttribute('href', '/signin?next=%2Fevents%2Fe1');
    expect(mock.calls.some((x) => x.name === 'QueuePlace')).toBe(false);
  });

  it('takes a viewer already in the queue straight to it', async () => {
    const mock = setup('buyer', { event: queued(), pages: { '': [a] }, place: queuePlace({ position: 12, etaSeconds: 12 }) });
    await screen.findByText('elsewhere');
    expect(mock.calls.find((x) => x.name === 'QueuePlace')?.variables).toEqual({ eventId: 'e1' });
    expect(mock.calls.some((x) => x.name === 'JoinQueue')).toBe(false);
  });

  it('says how an ended place ended, with Buy still disabled', async () => {
    setup('buyer', {
      event: queued({ onSaleAt: fromNow(-900) }),
      pages: { '': [a] },
      place: queuePlace({ status: 'EXPIRED', admittedUntil: fromNow(-300) }),
    });
    expect(await screen.findByText('Your admission ended')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Join the queue' })).not.toBeInTheDocument();
    expect(within(screen.getByTestId('ticket-list')).getByRole('button', { name: 'Buy for $12.50' })).toBeDisabled();
  });
});
