import { describe, expect, it } from 'vitest';
import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { SellPage } from '../pages/SellPage';
import { gqlError, mockClient } from '../test/mockClient';
import { renderPage } from '../test/render';
import { ticket } from '../test/fixtures';

function setup(reply: (input: { title: string; price: string }) => ReturnType<typeof gqlError> | { data: unknown }) {
  const mock = mockClient((name, vars) => {
    if (name === 'Me') return { data: { me: { __typename: 'User', id: 'seller', email: 's@example.com', createdAt: '2026-01-01T00:00:00Z' } } };
    if (name === 'CreateTicket') return reply(vars.input as { title: string; price: string });
    return undefined;
  });
  renderPage(mock.client, <SellPage />, { path: '/sell', url: '/sell' });
  return mock;
}

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
