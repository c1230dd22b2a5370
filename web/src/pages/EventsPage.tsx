import { useEffect, useRef, useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { EventsQuery } from '../graphql/operations';
import { usePagedQuery } from '../graphql/hooks';
import { formatEventTime } from '../lib/format';
import { SEARCH_DEBOUNCE_MS } from '../lib/useDebounced';
import { EventAvailability } from '../components/EventAvailability';
import { LoadMore } from '../components/TicketList';
import { Alert, Field, Loading, PageTitle, buttonClass } from '../components/ui';

/**
 * Upcoming events, soonest first, searched as you type. The search lives in the URL (`?q=`), so a
 * search can be shared and survives a reload; typing replaces the history entry instead of adding
 * one per keystroke.
 */
export function EventsPage() {
  const [params, setParams] = useSearchParams();
  const q = (params.get('q') ?? '').trim();
  const [text, setText] = useState(q);
  // The q this page last wrote: any other change of the URL (back button, a link) is shown as is.
  const written = useRef(q);
  useEffect(() => {
    if (q !== written.current) {
      written.current = q;
      setText(q);
    }
  }, [q]);

  const writeQuery = (next: string) => {
    written.current = next;
    setParams(
      (p) => {
        const n = new URLSearchParams(p);
        if (next) n.set('q', next);
        else n.delete('q');
        return n;
      },
      { replace: true },
    );
  };
  const writeRef = useRef(writeQuery);
  writeRef.current = writeQuery;

  const pending = text.trim() !== q;
  useEffect(() => {
    if (!pending) return;
    const t = setTimeout(() => writeRef.current(text.trim()), SEARCH_DEBOUNCE_MS);
    return () => clearTimeout(t);
  }, [text, pending]);

  const list = usePagedQuery(EventsQuery, { search: q || null }, (d) => d.events);
  const events = list.items;

  function submit(e: FormEvent) {
    e.preventDefault();
    if (pending) writeQuery(text.trim());
  }

  return (
    <div>
      <div className="mb-4 flex flex-wrap items-center justify-between gap-3">
        <PageTitle flush>Events</PageTitle>
        <Link to="/events/new" className={buttonClass('primary')}>
          Create event
        </Link>
      </div>
      <form role="search" aria-label="Events" onSubmit={submit} className="mb-4">
        <Field
          label="Search events"
          name="q"
          type="search"
          autoComplete="off"
          spellCheck={false}
          value={text}
          onChange={(e) => setText(e.target.value)}
          hint="Name, venue or city; every word counts, e.g. “jazz berlin”."
        />
      </form>
      <p className="sr-only" role="status" aria-live="polite">
        {list.loading || pending ? '' : `${events.length}${list.hasMore ? ' or more' : ''} ${events.length === 1 ? 'event' : 'events'}`}
      </p>
      {list.loading ? (
        <Loading label={q ? 'Searching…' : 'Loading events…'} />
      ) : list.error && events.length === 0 ? (
        <Alert title="Could not load events">{list.error.message}</Alert>
      ) : events.length === 0 ? (
        q ? (
          <div className="py-6 text-slate-600">
            <p>
              No events match “<span className="font-medium text-slate-900">{q}</span>”.
            </p>
            <button
              type="button"
              className="mt-2 text-sm text-indigo-700 underline"
              onClick={() => {
                setText('');
                writeQuery('');
              }}
            >
              Clear the search
            </button>
          </div>
        ) : (
          <p className="py-6 text-slate-600">
            No upcoming events yet.{' '}
            <Link to="/events/new" className="text-indigo-700 underline">
              Create one
            </Link>
            .
          </p>
        )
      ) : (
        <>
          <ul
            aria-label={q ? `Events matching ${q}` : 'Upcoming events'}
            className="divide-y divide-slate-200 overflow-hidden rounded-lg border border-slate-200 bg-white shadow-sm"
            data-testid="event-list"
          >
            {events.map((e) => (
              <li key={e.id} data-event-id={e.id} className="flex items-center gap-3 px-4 py-3">
                <div className="min-w-0 flex-1">
                  <Link
                    to={`/events/${e.id}`}
                    className="block truncate font-medium text-slate-900 hover:text-indigo-700 hover:underline focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500"
                  >
                    {e.name}
                  </Link>
                  <p className="truncate text-sm text-slate-600">
                    {e.venue} · {e.city}
                  </p>
                  <p className="text-xs text-slate-500">
                    <time dateTime={e.startsAt}>{formatEventTime(e.startsAt)}</time>
                  </p>
                </div>
                <EventAvailability event={e} listed={e.listed.edges.length > 0} />
              </li>
            ))}
          </ul>
          <LoadMore hasMore={list.hasMore} loading={list.loadingMore} onClick={list.loadMore} error={list.moreError?.message} />
        </>
      )}
    </div>
  );
}
