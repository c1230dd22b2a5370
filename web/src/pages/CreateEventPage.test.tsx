import { describe, expect, it } from 'vitest';
import { fireEvent, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { CreateEventPage } from './CreateEventPage';
import { gqlError, mockClient, type Reply } from '../test/mockClient';
import { renderPage } from '../test/render';
import { event } from '../test/fixtures';

function setup(reply: () => Reply) {
  const mock = mockClient((name) => {
    if (name === 'Me') return { data: { me: { __typename: 'User', id: 'organizer', email: 'o@example.com', createdAt: '2026-01-01T00:00:00Z' } } };
    if (name === 'CreateEvent') return reply();
    return undefined;
  });
  renderPage(mock.client, <CreateEventPage />, { path: '/events/new', url: '/events/new' });
  return mock;
}

async function fill(user: ReturnType<typeof userEvent.setup>, v: { name: string; venue: string; city: string; startsAt: string; onSaleAt?: string }) {
  await user.type(screen.getByLabelText('Name'), v.name);
  await user.type(screen.getByLabelText('Venue'), v.venue);
  await user.type(screen.getByLabelText('City'), v.city);
  fireEvent.change(screen.getByLabelText('Starts at'), { target: { value: v.startsAt } });
  if (v.onSaleAt) fireEvent.change(screen.getByLabelText('On sale at'), { target: { value: v.onSaleAt } });
}

describe('creating an event', () => {
  it('checks the fields before sending anything', async () => {
    const user = userEvent.setup();
    const mock = setup(() => ({ data: null }));
    await fill(user, { name: '  ', venue: 'Philharmonie', city: 'c'.repeat(101), startsAt: '2020-01-01T19:00', onSaleAt: '2030-01-01T10:00' });
    await user.click(screen.getByRole('button', { name: 'Create event' }));
    expect(screen.getByText('Name must not be empty')).toBeInTheDocument();
    expect(screen.getByText('City must be at most 100 characters')).toBeInTheDocument();
    expect(screen.getByText('Starts at must be in the future')).toBeInTheDocument();
    expect(screen.getByLabelText('Name')).toHaveAttribute('aria-invalid', 'true');
    expect(screen.getByLabelText('Venue')).not.toHaveAttribute('aria-invalid');
    expect(mock.calls.some((c) => c.name === 'CreateEvent')).toBe(false);
  });

  it('shows the server’s field errors next to their fields', async () => {
    const user = userEvent.setup();
    setup(() =>
      gqlError('BAD_USER_INPUT', 'invalid input', [
        { field: 'name', message: 'is already taken at that venue' },
        { field: 'venue', message: 'must not contain control characters' },
        { field: 'city', message: 'is not served' },
        { field: 'startsAt', message: 'must be in the future' },
        { field: 'onSaleAt', message: 'must be before startsAt' },
      ]),
    );
    await fill(user, { name: 'Jazz', venue: 'Hall', city: 'Berlin', startsAt: '2099-03-01T19:00', onSaleAt: '2099-02-01T10:00' });
    await user.click(screen.getByRole('button', { name: 'Create event' }));
    expect(await screen.findByText('Name is already taken at that venue')).toBeInTheDocument();
    expect(screen.getByText('Venue must not contain control characters')).toBeInTheDocument();
    expect(screen.getByText('City is not served')).toBeInTheDocument();
    expect(screen.getByText('Starts at must be in the future')).toBeInTheDocument();
    expect(screen.getByText('On sale at must be before startsAt')).toBeInTheDocument();
    expect(screen.getByLabelText('On sale at')).toHaveAccessibleDescription(/On sale at must be before startsAt/);
    expect(screen.queryByRole('alert')).not.toBeInTheDocument(); // all about fields: no banner
  });

  it('shows an error that is not about a field above the form', async () => {
    const user = userEvent.setup();
    setup(() => gqlError('UNAUTHENTICATED', 'sign in first: no valid session'));
    await fill(user, { name: 'Jazz', venue: 'Hall', city: 'Berlin', startsAt: '2099-03-01T19:00' });
    await user.click(screen.getByRole('button', { name: 'Create event' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('Sign in first: no valid session');
  });

  it('sends trimmed text and instants, then opens the event', async () => {
    const user = userEvent.setup();
    const mock = setup(() => ({ data: { createEvent: event({ id: 'e7' }) } }));
    await fill(user, { name: ' Berlin Jazz Festival ', venue: 'Philharmonie ', city: ' Berlin', startsAt: '2099-03-01T19:00' });
    await user.click(screen.getByRole('button', { name: 'Create event' }));
    await screen.findByText('elsewhere');
    expect(mock.calls.find((c) => c.name === 'CreateEvent')?.variables).toEqual({
      input: { name: 'Berlin Jazz Festival', venue: 'Philharmonie', city: 'Berlin', startsAt: new Date('2099-03-01T19:00').toISOString() },
    });
  });

  it('offers an optional on-sale time, explains the queue, and sends it as an instant', async () => {
    const user = userEvent.setup();
    const mock = setup(() => ({ data: { createEvent: event({ id: 'e8', onSaleAt: '2099-02-01T10:00:00Z' }) } }));
    const onSale = screen.getByLabelText('On sale at');
    expect(onSale).toHaveAttribute('type', 'datetime-local');
    expect(onSale).not.toBeRequired();
    expect(onSale).toHaveAccessibleDescription(/buyers queue from 30 minutes before/);
    expect(onSale).toHaveAccessibleDescription(/let in at the configured rate/);
    await fill(user, { name: 'Jazz', venue: 'Hall', city: 'Berlin', startsAt: '2099-03-01T19:00', onSaleAt: '2099-02-01T10:00:30' });
    await user.click(screen.getByRole('button', { name: 'Create event' }));
    await screen.findByText('elsewhere');
    expect(mock.calls.find((c) => c.name === 'CreateEvent')?.variables).toEqual({
      input: {
        name: 'Jazz',
        venue: 'Hall',
        city: 'Berlin',
        startsAt: new Date('2099-03-01T19:00').toISOString(),
        onSaleAt: new Date('2099-02-01T10:00:30').toISOString(),
      },
    });
  });

  it('checks the on-sale time before sending: not in the past, before the start', async () => {
    const user = userEvent.setup();
    const mock = setup(() => ({ data: null }));
    await fill(user, { name: 'Jazz', venue: 'Hall', city: 'Berlin', startsAt: '2099-03-01T19:00', onSaleAt: '2099-03-01T19:00' });
    await user.click(screen.getByRole('button', { name: 'Create event' }));
    expect(screen.getByText('On sale at must be before the start')).toBeInTheDocument();
    fireEvent.change(screen.getByLabelText('On sale at'), { target: { value: '2020-01-01T10:00' } });
    await user.click(screen.getByRole('button', { name: 'Create event' }));
    expect(screen.getByText('On sale at must not be in the past')).toBeInTheDocument();
    expect(screen.getByLabelText('On sale at')).toHaveAttribute('aria-invalid', 'true');
    expect(mock.calls.some((c) => c.name === 'CreateEvent')).toBe(false);
  });
});
