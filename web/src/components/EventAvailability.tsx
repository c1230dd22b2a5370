import type { EventFieldsFragment } from '../gql/graphql';
import { formatPrice } from '../lib/format';

type Counts = Pick<EventFieldsFragment, 'availableCount' | 'lowestPrice'>;

/**
 * What an event has on sale: "3 on sale · from $12.50", or, with nothing available, "Sold out"
 * when it has had tickets (sold or reserved: a reserved one may come back) and "No tickets yet"
 * when none was ever listed.
 */
export function availabilityLabel(e: Counts, listed: boolean): string {
  if (e.availableCount > 0 && e.lowestPrice) return `${e.availableCount} on sale · from ${formatPrice(e.lowestPrice)}`;
  return listed ? 'Sold out' : 'No tickets yet';
}

export function EventAvailability({ event, listed, large }: { event: Counts; listed: boolean; large?: boolean }) {
  const onSale = event.availableCount > 0 && !!event.lowestPrice;
  if (!onSale) {
    return (
      <span
        data-testid="event-availability"
        data-available="0"
        className={`inline-flex items-center whitespace-nowrap rounded-full px-2 py-0.5 font-medium ring-1 ring-inset ${large ? 'text-sm' : 'text-xs'} ${
          listed ? 'bg-amber-100 text-amber-900 ring-amber-600/30' : 'bg-slate-100 text-slate-700 ring-slate-500/30'
        }`}
      >
        {listed ? 'Sold out' : 'No tickets yet'}
      </span>
    );
  }
  return (
    <span
      data-testid="event-availability"
      data-available={event.availableCount}
      // Under the name on a phone (large, on the event page): aligned with it there.
      className={`flex flex-col ${large ? 'items-start text-left sm:items-end sm:text-right' : 'items-end text-right'}`}
    >
      <span className={`whitespace-nowrap font-semibold tabular-nums text-slate-900 ${large ? 'text-xl' : ''}`} data-testid="event-lowest-price">
        from {formatPrice(event.lowestPrice!)}
      </span>
      <span className="whitespace-nowrap text-xs text-slate-600" data-testid="event-available-count">
        {event.availableCount} on sale
      </span>
    </span>
  );
}
