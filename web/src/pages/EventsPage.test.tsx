import { describe, expect, it } from 'vitest';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useLocation } from 'react-router';
import { EventsPage } from './EventsPage';
import { mockClient } from '../test/mockClient';
import { renderPage } from '../test/render';
import { eventConnection, listedEvent } from '../test/fixtures';
import { SEARCH_DEBOUNCE_MS } from '../lib/useDebounced';

function Location() {
  const l = useLocation();
  return <output data-testid="location">{`${l.pathname}${l.search}`}</output>;
}

const jazz = listedEvent({ id: 'e1', name: 'Berlin Jazz Festival', venue: 'Philharmonie', city: 'Berlin', availableCount: 2, lowestPrice: '12.50' });
const opera = listedEvent({ id: 'e2', name: 'Zürich Opera Gala', venue: 'Opernhaus', city: 'Zürich', startsAt: '2027-01-10T19:00:00Z' }, true);
const rock = listedEvent({ id: 'e3', name: 'Rock am Ring', venue: 'Nürburgring', city: 'Nürburg', startsAt: '2027-06-05T12:00:00Z' }, false);

function setup(url = '/events', results: Record<string, ReturnType<typeof eventConnection>> = {}) {
  const asked: { search: unknown; after: unknown; at: number }[] = [];
  const mock = mockClient((name, vars) => {
    if (name === 'Me') return { data: { me: null } };
    if (name !== 'Events') return undefined;
    asked.push({ search: vars.search, after: vars.after, at: Date.now() });
    const key = `${vars.search ?? ''}|${vars.after ?? ''}`;
    return { data: { events: results[key] ?? eventConnection([]) } };
  });
  renderPage(
    mock.client,
    <>
      <EventsPage />
      <Location />
    </>,
    { path: '/events', url },
  );
  /** The searches asked for, in order (urql may send the same one twice). */
  const searches = () => [...new Set(asked.map((a) => a.search))];
  return { ...mock, asked, searches };
}

const row = (id: string) => document.querySelector(`[data-event-id="${id}"]`) as HTMLElement;

describe('the events page', () => {
  it('searches as you type once typing pauses, and keeps the search in the URL', async () => {
    const user = userEvent.setup();
    const mock = setup('/events', { '|': eventConnection([opera, jazz]), 'jazz|': eventConnection([jazz]) });
    await screen.findByText('Zürich Opera Gala');

    await user.type(screen.getByRole('searchbox', { name: 'Search events' }), 'jazz');
    const typedAt = Date.now();
    // Not at each keystroke: nothing asked yet, the URL unchanged.
    expect(mock.searches()).toEqual([null]);
    expect(screen.getByTestId('location')).toHaveTextContent(/^\/events$/);

    await waitFor(() => expect(screen.queryByText('Zürich Opera Gala')).not.toBeInTheDocument());
    expect(screen.getByText('Berlin Jazz Festival')).toBeInTheDocument();
    expect(mock.searches()).toEqual([null, 'jazz']); // not "j", "ja", "jaz"
    expect(mock.asked.find((a) => a.search === 'jazz')!.at - typedAt).toBeGreaterThanOrEqual(SEARCH_DEBOUNCE_MS - 20);
    expect(screen.getByTestId('location')).toHaveTextContent('/events?q=jazz');
  });

  it('opens with the search of a shared URL and says when nothing matches', async () => {
    const user = userEvent.setup();
    const mock = setup('/events?q=polka', { '|': eventConnection([jazz]) });
    expect(await screen.findByText(/No events match/)).toHaveTextContent('No events match “polka”.');
    expect(screen.getByRole('searchbox', { name: 'Search events' })).toHaveValue('polka');
    expect(mock.asked[0].search).toBe('polka');

    await user.click(screen.getByRole('button', { name: 'Clear the search' }));
    await screen.findByText('Berlin Jazz Festival');
    expect(screen.getByRole('searchbox', { name: 'Search events' })).toHaveValue('');
    expect(screen.getByTestId('location')).toHaveTextContent(/^\/events$/);
  });

  it('shows where, when and from what price, and loads more with the cursor', async () => {
    const user = userEvent.setup();
    const mock = setup('/events?q=festival', {
      'festival|': eventConnection([jazz, opera], true),
      'festival|c-e2': eventConnection([rock]),
    });
    await screen.findByText('Berlin Jazz Festival');
    expect(row('e1')).toHaveTextContent('Philharmonie · Berlin');
    expect(within(row('e1')).getByText(/2027/).closest('time')).toHaveAttribute('dateTime', '2027-03-01T19:00:00Z');
    expect(within(row('e1')).getByTestId('event-lowest-price')).toHaveTextContent('from $12.50');
    expect(within(row('e1')).getByTestId('event-available-count')).toHaveTextContent('2 on sale');
    expect(within(row('e1')).getByRole('link', { name: 'Berlin Jazz Festival' })).toHaveAttribute('href', '/events/e1');
    expect(row('e2')).toHaveTextContent('Sold out');

    await user.click(screen.getByRole('button', { name: 'Load more' }));
    await screen.findByText('Rock am Ring');
    expect(row('e3')).toHaveTextContent('No tickets yet');
    expect(mock.asked.at(-1)).toMatchObject({ search: 'festival', after: 'c-e2' });
    expect(screen.queryByRole('button', { name: 'Load more' })).not.toBeInTheDocument();
  });
});
