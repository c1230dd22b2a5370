import { describe, expect, it } from 'vitest';
import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { SellPage } from '../pages/SellPage';
import { gqlError, mockClient } from '../test/mockClient';
import { renderPage } from '../test/render';
import { event, eventConnection, ticket } from '../test/fixtures';

const jazz = event({ id: 'e1', name: 'Berlin Jazz Festival', venue: 'Philharmonie', city: 'Berlin' });
const opera = event({ id: 'e2', name: 'Zürich Opera Gala', venue: 'Opernhaus', city: 'Zürich', startsAt: '2027-01-10T19:00:00Z' });

function setup(reply: (input: { title: string; price: string }) => ReturnType<typeof gqlError> | { data: unknown }, url = '/sell') {
  const mock = mockClient((name, vars) => {
    if (name === 'Me') return { data: { me: { __typename: 'User', id: 'seller', email: 's@example.com', createdAt: '2026-01-01T00:00:00Z' } } };
    if (name === 'CreateTicket') return reply(vars.input as { title: string; price: string });
    if (name === 'EventOptions') {
      const words = String(vars.search ?? '').toLowerCase().split(/\s+/).filter(Boolean);
      const match = (e: typeof jazz) => words.every((w) => `${e.name} ${e.venue} ${e.city}`.toLowerCase().split(/\s+/).some((x) => x.startsWith(w)));
      return { data: { events: eventConnection([opera, jazz].filter(match)) } };
    }
    if (name === 'Event') return { data: { event: vars.id === 'e1' ? jazz : null } };
    return undefined;
  });
  renderPage(mock.client, <SellPage />, { path: '/sell', url });
  return mock;
}

const created = (mock: ReturnType<typeof setup>) => mock.calls.find((c) => c.name === 'CreateTicket')?.variables;
const ok = (input: { title: string; price: string }) => ({ data: { createTicket: ticket({ id: 'new', title: input.title, price: input.price }) } });

describe('the sell form', () => {
  it('checks title and price before sending anything', async () => {
    const user = userEvent.setup();
    const mock = setup(() => ({ data: null }));
    await user.type(screen.getByLabelText('Title'), '   ');
    await user.type(screen.getByLabelText('Price (USD)'), '12.345');
    await user.click(screen.getByRole('button', { name: 'List ticket' }));

    expect(screen.getByText('Title must not be empty')).toBeInTheDocument();
    expect(screen.getByText('Price (USD) must have at most 2 decimals')).toBeInTheDocument();
    expect(screen.getByLabelText('Title')).toHaveAttribute('aria-invalid', 'true');
    expect(screen.getByLabelText('Title')).toHaveAccessibleDescription(/Title must not be empty/);
    expect(mock.calls.filter((c) => c.name === 'CreateTicket')).toHaveLength(0);

    await user.clear(screen.getByLabelText('Price (USD)'));
    await user.type(screen.getByLabelText('Price (USD)'), '1000000.01');
    await user.click(screen.getByRole('button', { name: 'List ticket' }));
    expect(screen.getByText('Price (USD) must be at most 1000000')).toBeInTheDocument();
  });

  it('shows the server’s field errors next to their fields', async () => {
    const user = userEvent.setup();
    setup(() =>
      gqlError('BAD_USER_INPUT', 'invalid input', [
        { field: 'title', message: 'must not contain that word' },
        { field: 'price', message: 'is too low for this venue' },
      ]),
    );
    await user.type(screen.getByLabelText('Title'), 'Concert');
    await user.type(screen.getByLabelText('Price (USD)'), '5');
    await user.click(screen.getByRole('button', { name: 'List ticket' }));
    expect(await screen.findByText('Title must not contain that word')).toBeInTheDocument();
    expect(screen.getByText('Price (USD) is too low for this venue')).toBeInTheDocument();
  });

  it('sends the trimmed title and a normalised price, then opens the ticket', async () => {
    const user = userEvent.setup();
    const mock = setup((input) => ({ data: { createTicket: ticket({ id: 'new', title: input.title, price: input.price }) } }));
    await user.type(screen.getByLabelText('Title'), '  Opera  ');
    await user.type(screen.getByLabelText('Price (USD)'), '20.5');
    await user.click(screen.getByRole('button', { name: 'List ticket' }));
    await waitFor(() => expect(screen.getByText('elsewhere')).toBeInTheDocument());
    expect(mock.calls.find((c) => c.name === 'CreateTicket')?.variables).toEqual({ input: { title: 'Opera', price: '20.50' } });
  });
});

describe('the event picker of the sell form', () => {
  it('searches events as you type and sends the picked one', async () => {
    const user = userEvent.setup();
    const mock = setup(ok);
    await user.type(screen.getByLabelText('Title'), 'Balcony, seat 12');
    await user.type(screen.getByLabelText('Price (USD)'), '40');
    const box = screen.getByRole('combobox', { name: 'Event (optional)' });
    await user.type(box, 'jazz ber');
    await waitFor(() => expect(screen.queryByRole('option', { name: /Zürich/ })).not.toBeInTheDocument());
    const option = screen.getByRole('option', { name: /Berlin Jazz Festival/ });
    expect(option).toHaveTextContent('Philharmonie · Berlin');
    // Debounced: one request for what was typed, none per keystroke.
    const searches = new Set(mock.calls.filter((c) => c.name === 'EventOptions').map((c) => c.variables.search));
    expect([...searches].filter((s) => s !== null)).toEqual(['jazz ber']);

    await user.click(option);
    expect(screen.getByRole('group', { name: 'Event' })).toHaveTextContent('Berlin Jazz Festival');
    await user.click(screen.getByRole('button', { name: 'List ticket' }));
    await screen.findByText('elsewhere');
    expect(created(mock)).toEqual({ input: { title: 'Balcony, seat 12', price: '40.00', eventId: 'e1' } });
  });

  it('picks with the keyboard, and "No event" goes back to none', async () => {
    const user = userEvent.setup();
    const mock = setup(ok);
    await user.type(screen.getByLabelText('Title'), 'Stalls');
    await user.type(screen.getByLabelText('Price (USD)'), '30');
    await user.click(screen.getByRole('combobox', { name: 'Event (optional)' }));
    await screen.findByRole('option', { name: /Zürich Opera Gala/ }); // soonest first, before typing
    await user.keyboard('{ArrowDown}{ArrowDown}');
    expect(screen.getByRole('option', { name: /Berlin Jazz Festival/ })).toHaveAttribute('aria-selected', 'true');
    await user.keyboard('{Enter}');
    expect(screen.getByRole('group', { name: 'Event' })).toHaveTextContent('Berlin Jazz Festival');
    expect(created(mock)).toBeUndefined(); // Enter picked, it did not submit

    await user.click(screen.getByRole('button', { name: 'No event' }));
    expect(screen.getByRole('combobox', { name: 'Event (optional)' })).toHaveValue('');
    await user.click(screen.getByRole('button', { name: 'List ticket' }));
    await screen.findByText('elsewhere');
    expect(created(mock)).toEqual({ input: { title: 'Stalls', price: '30.00' } });
  });

  it('does not list a ticket for a search that was not picked', async () => {
    const user = userEvent.setup();
    const mock = setup(ok);
    await user.type(screen.getByLabelText('Title'), 'Stalls');
    await user.type(screen.getByLabelText('Price (USD)'), '30');
    await user.type(screen.getByRole('combobox', { name: 'Event (optional)' }), 'polka');
    expect(await screen.findByText('No events match “polka”.')).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'List ticket' }));
    expect(screen.getByText(/Event is not picked yet/)).toBeInTheDocument();
    expect(created(mock)).toBeUndefined();
  });

  it('starts from the event of the link (?event=) and explains an event that has started', async () => {
    const user = userEvent.setup();
    const mock = setup(() => gqlError('CONFLICT', 'the event has started'), '/sell?event=e1');
    expect(await screen.findByRole('group', { name: 'Event' })).toHaveTextContent('Berlin Jazz Festival');
    await user.type(screen.getByLabelText('Title'), 'Stalls');
    await user.type(screen.getByLabelText('Price (USD)'), '30');
    await user.click(screen.getByRole('button', { name: 'List ticket' }));
    expect(await screen.findByText('Event has started: tickets can no longer be listed for it')).toBeInTheDocument();
    expect(created(mock)).toEqual({ input: { title: 'Stalls', price: '30.00', eventId: 'e1' } });
  });
});
