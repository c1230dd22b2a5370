import { describe, expect, it } from 'vitest';
import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter } from 'react-router';
import { Provider } from 'urql';
import { LandingPage } from './LandingPage';
import { LiveStateProvider } from '../graphql/client';
import { mockClient } from '../test/mockClient';
import { connection, ticket } from '../test/fixtures';

function row(id: string) {
  return document.querySelector(`[data-ticket-id="${id}"]`) as HTMLElement;
}

function setup(pages: Record<string, ReturnType<typeof connection>>) {
  const mock = mockClient((name, vars) => {
    if (name === 'Tickets') return { data: { tickets: pages[String(vars.after ?? 'first')] } };
    return undefined;
  });
  const ui = (epoch: number) => (
    <Provider value={mock.client}>
      <LiveStateProvider value={{ epoch, status: 'connected' }}>
        <MemoryRouter>
          <LandingPage />
        </MemoryRouter>
      </LiveStateProvider>
    </Provider>
  );
  const r = render(ui(0));
  return { ...mock, rerender: (epoch: number) => r.rerender(ui(epoch)) };
}

describe('the landing page, live', () => {
  it('adds new listings on top and changes badges as tickets are reserved and sold', async () => {
    const mock = setup({ first: connection([ticket({ id: 'a', title: 'Opera' })]) });
    await screen.findByText('Opera');
    expect(within(row('a')).getByText('On sale')).toBeInTheDocument();

    act(() => mock.push('TicketCreated', { ticketCreated: ticket({ id: 'b', title: 'Jazz', createdAt: '2026-01-02T00:00:00Z' }) }));
    await screen.findByText('Jazz');
    const rows = screen.getAllByRole('listitem');
    expect(rows[0]).toHaveTextContent('Jazz');
    expect(rows[0]).toHaveTextContent('New');

    act(() => mock.push('TicketUpdated', { ticketUpdated: ticket({ id: 'a', title: 'Opera', version: 2, status: 'RESERVED' }) }));
    await waitFor(() => expect(within(row('a')).getByText('Reserved')).toBeInTheDocument());

    // A late, older event does not undo a newer state.
    act(() => mock.push('TicketUpdated', { ticketUpdated: ticket({ id: 'a', version: 3, status: 'SOLD' }) }));
    act(() => mock.push('TicketUpdated', { ticketUpdated: ticket({ id: 'a', version: 2, status: 'RESERVED' }) }));
    await waitFor(() => expect(within(row('a')).getByText('Sold')).toBeInTheDocument());
  });

  it('loads more with the after cursor', async () => {
    const user = userEvent.setup();
    const mock = setup({
      first: connection([ticket({ id: 'a', title: 'Opera' })], true),
      'c-a': connection([ticket({ id: 'z', title: 'Older one' })], false),
    });
    await screen.findByText('Opera');
    await user.click(screen.getByRole('button', { name: 'Load more' }));
    await screen.findByText('Older one');
    expect(mock.calls.filter((c) => c.name === 'Tickets').map((c) => c.variables)).toContainEqual({ status: 'AVAILABLE', first: 20, after: 'c-a' });
    expect(screen.queryByRole('button', { name: 'Load more' })).not.toBeInTheDocument();
  });

  it('refetches every loaded page when the WebSocket reconnects', async () => {
    const user = userEvent.setup();
    const mock = setup({
      first: connection([ticket({ id: 'a', title: 'Opera' })], true),
      'c-a': connection([ticket({ id: 'z', title: 'Older one' })], false),
    });
    await screen.findByText('Opera');
    await user.click(screen.getByRole('button', { name: 'Load more' }));
    await screen.findByText('Older one');
    const before = mock.calls.filter((c) => c.name === 'Tickets').length;
    mock.rerender(1);
    await waitFor(() => expect(mock.calls.filter((c) => c.name === 'Tickets').length).toBe(before + 2));
  });

  it('shows an error when the list cannot be loaded', async () => {
    const mock = mockClient(() => ({ data: null, errors: [{ message: 'boom', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] }));
    render(
      <Provider value={mock.client}>
        <MemoryRouter>
          <LandingPage />
        </MemoryRouter>
      </Provider>,
    );
    expect(await screen.findByRole('alert')).toHaveTextContent('Could not load tickets');
  });
});
