import { useId, useRef, useState, type KeyboardEvent } from 'react';
import { useQuery } from 'urql';
import type { EventFieldsFragment } from '../gql/graphql';
import { EventOptionsQuery } from '../graphql/operations';
import { toApiError } from '../lib/errors';
import { formatEventTime } from '../lib/format';
import { SEARCH_DEBOUNCE_MS, useDebounced } from '../lib/useDebounced';
import { buttonClass } from './ui';

const OPTIONS = 8;

/**
 * Picks the event a ticket is for, or none: a combobox (ARIA 1.2, list autocomplete) that
 * searches upcoming events as you type (`events(search:)`, debounced), soonest first. Arrow keys
 * move through the suggestions, Enter picks, Escape closes. Once picked, the event is shown with
 * a button to go back to "No event".
 */
export function EventPicker({
  value,
  onChange,
  disabled,
  error,
  onTextChange,
}: {
  value: EventFieldsFragment | null;
  onChange: (e: EventFieldsFragment | null) => void;
  disabled?: boolean;
  error?: string;
  /** What is typed in the search and not picked yet ('' once an event is picked). */
  onTextChange?: (text: string) => void;
}) {
  const id = useId();
  const inputRef = useRef<HTMLInputElement>(null);
  const [text, setText] = useState('');
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const term = useDebounced(text.trim(), SEARCH_DEBOUNCE_MS);
  const [result] = useQuery({
    query: EventOptionsQuery,
    variables: { first: OPTIONS, search: term || null },
    pause: !open || !!value,
  });
  const options = result.data?.events.edges.map((e) => e.node) ?? [];
  const searching = result.fetching || term !== text.trim();
  const labelId = `${id}-label`;
  const listId = `${id}-list`;
  const hintId = `${id}-hint`;
  const errId = `${id}-error`;

  function pick(e: EventFieldsFragment | null) {
    onChange(e);
    setOpen(false);
    setActive(-1);
    setText('');
    onTextChange?.('');
    if (!e) setTimeout(() => inputRef.current?.focus(), 0);
  }

  function onKeyDown(e: KeyboardEvent<HTMLInputElement>) {
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      setOpen(true);
      setActive((a) => (options.length ? (a + 1) % options.length : -1));
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      setOpen(true);
      setActive((a) => (options.length ? (a <= 0 ? options.length - 1 : a - 1) : -1));
    } else if (e.key === 'Enter') {
      // Enter picks (the highlighted suggestion, else the first); it never submits a half-typed search.
      if (open && active >= 0 && options[active]) {
        e.preventDefault();
        pick(options[active]);
      } else if (open && text.trim()) {
        e.preventDefault();
        if (options[0] && term === text.trim() && !result.stale) pick(options[0]);
      }
    } else if (e.key === 'Escape') {
      if (open) {
        e.preventDefault();
        setOpen(false);
        setActive(-1);
      }
    }
  }

  if (value) {
    return (
      <div className="space-y-1">
        <span id={labelId} className="block text-sm font-medium text-slate-700">
          Event
        </span>
        <div
          role="group"
          aria-labelledby={labelId}
          data-testid="picked-event"
          className="flex flex-wrap items-center gap-3 rounded-md border border-indigo-300 bg-indigo-50 px-3 py-2"
        >
          <div className="min-w-0 flex-1">
            <p className="truncate font-medium text-slate-900">{value.name}</p>
            <p className="truncate text-xs text-slate-600">
              {value.venue} · {value.city} · {formatEventTime(value.startsAt)}
            </p>
          </div>
          <button type="button" className={buttonClass('secondary')} disabled={disabled} onClick={() => pick(null)}>
            No event
          </button>
        </div>
        {error ? (
          <p className="text-sm text-red-700" role="alert">
            Event {error}
          </p>
        ) : null}
      </div>
    );
  }

  return (
    <div className="relative space-y-1">
      <label id={labelId} htmlFor={`${id}-input`} className="block text-sm font-medium text-slate-700">
        Event (optional)
      </label>
      <input
        ref={inputRef}
        id={`${id}-input`}
        type="text"
        role="combobox"
        aria-autocomplete="list"
        aria-expanded={open}
        aria-controls={listId}
        aria-activedescendant={open && active >= 0 && options[active] ? `${listId}-${active}` : undefined}
        aria-invalid={error ? true : undefined}
        aria-describedby={[error ? errId : null, hintId].filter(Boolean).join(' ')}
        autoComplete="off"
        spellCheck={false}
        placeholder="No event: search to pick one"
        disabled={disabled}
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          onTextChange?.(e.target.value);
          setOpen(true);
          setActive(-1);
        }}
        onFocus={() => setOpen(true)}
        onClick={() => setOpen(true)}
        onBlur={() => {
          setOpen(false);
          setActive(-1);
        }}
        onKeyDown={onKeyDown}
        className={`block w-full rounded-md border px-3 py-2 text-base shadow-sm focus:outline-none focus:ring-2 focus:ring-indigo-500 disabled:bg-slate-100 ${
          error ? 'border-red-500' : 'border-slate-300'
        }`}
      />
      <p id={hintId} className="text-xs text-slate-500">
        Search upcoming events by name, venue or city. Leave empty to list the ticket without an event.
      </p>
      {error ? (
        <p id={errId} className="text-sm text-red-700">
          Event {error}
        </p>
      ) : null}
      <div
        hidden={!open}
        className="absolute left-0 right-0 top-[4.5rem] z-10 max-h-80 overflow-auto rounded-md border border-slate-200 bg-white py-1 shadow-lg"
      >
        <ul id={listId} role="listbox" aria-labelledby={labelId}>
          {options.map((o, i) => (
            <li
              key={o.id}
              id={`${listId}-${i}`}
              role="option"
              aria-selected={i === active}
              data-event-id={o.id}
              // Keep the focus in the input, so blur does not close the list before the click.
              onMouseDown={(e) => e.preventDefault()}
              onClick={() => pick(o)}
              onMouseEnter={() => setActive(i)}
              className={`cursor-pointer px-3 py-2 ${i === active ? 'bg-indigo-50' : ''}`}
            >
              <span className="block truncate font-medium text-slate-900">{o.name}</span>
              <span className="block truncate text-xs text-slate-600">
                {o.venue} · {o.city} · {formatEventTime(o.startsAt)}
              </span>
            </li>
          ))}
        </ul>
        {options.length === 0 ? (
          <p className="px-3 py-2 text-sm text-slate-600" role="status">
            {searching ? 'Searching…' : result.error ? toApiError(result.error)?.message : term ? `No events match “${term}”.` : 'No upcoming events.'}
          </p>
        ) : null}
      </div>
    </div>
  );
}
