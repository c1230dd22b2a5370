import type { OrderStatus, TicketStatus } from '../gql/graphql';

const TICKET: Record<TicketStatus, { label: string; cls: string }> = {
  AVAILABLE: { label: 'On sale', cls: 'bg-emerald-100 text-emerald-800 ring-emerald-600/30' },
  RESERVED: { label: 'Reserved', cls: 'bg-amber-100 text-amber-900 ring-amber-600/30' },
  SOLD: { label: 'Sold', cls: 'bg-slate-200 text-slate-700 ring-slate-500/30' },
};

const ORDER: Record<OrderStatus, { label: string; cls: string }> = {
  CREATED: { label: 'Awaiting payment', cls: 'bg-amber-100 text-amber-900 ring-amber-600/30' },
  AWAITING_PAYMENT: { label: 'Paying…', cls: 'bg-sky-100 text-sky-900 ring-sky-600/30' },
  CANCELLED: { label: 'Cancelled', cls: 'bg-slate-200 text-slate-700 ring-slate-500/30' },
  COMPLETE: { label: 'Paid', cls: 'bg-emerald-100 text-emerald-800 ring-emerald-600/30' },
};

const pill = 'inline-flex items-center rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset whitespace-nowrap';

export function TicketStatusBadge({ status }: { status: TicketStatus }) {
  const s = TICKET[status] ?? { label: status, cls: '' };
  return (
    <span className={`${pill} ${s.cls}`} data-status={status}>
      {s.label}
    </span>
  );
}

export function OrderStatusBadge({ status, expired }: { status: OrderStatus; expired?: boolean }) {
  const s = status === 'CANCELLED' && expired ? { ...ORDER.CANCELLED, label: 'Expired' } : (ORDER[status] ?? { label: status, cls: '' });
  return (
    <span className={`${pill} ${s.cls}`} data-status={status}>
      {s.label}
    </span>
  );
}
