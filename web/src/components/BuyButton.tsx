import { useState } from 'react';
import { useNavigate } from 'react-router';
import { useMutation } from 'urql';
import type { TicketFieldsFragment } from '../gql/graphql';
import { CreateOrderMutation } from '../graphql/operations';
import { useAuth } from '../auth';
import { toApiError } from '../lib/errors';
import { formatPrice } from '../lib/format';
import { humanizeInstants } from '../lib/queue';
import { buttonClass } from './ui';

/**
 * "Buy for $20.00" in a list of tickets: reserves the version shown and opens the order. Nothing
 * for a ticket not on sale, for its own seller, or signed out (the ticket's page has the sign-in
 * link). `disabledBy` is the id of the sentence saying why buying is not possible yet (the
 * on-sale queue), which then disables it.
 */
export function BuyButton({ ticket, disabledBy }: { ticket: TicketFieldsFragment; disabledBy?: string }) {
  const { me } = useAuth();
  const navigate = useNavigate();
  const [, createOrder] = useMutation(CreateOrderMutation);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  if (!me || me.id === ticket.sellerId || ticket.status !== 'AVAILABLE') return null;

  async function buy() {
    setBusy(true);
    setError(null);
    const res = await createOrder({ ticketId: ticket.id, expectedVersion: ticket.version });
    const err = toApiError(res.error);
    if (!err && res.data) {
      navigate(`/orders/${res.data.createOrder.id}`);
      return;
    }
    setBusy(false);
    if (err) setError(humanizeInstants(err.message));
  }

  return (
    <span className="flex flex-col items-end gap-1">
      <button
        type="button"
        className={`${buttonClass('primary')} whitespace-nowrap`}
        onClick={buy}
        disabled={busy || !!disabledBy}
        aria-describedby={disabledBy}
      >
        {busy ? 'Reserving…' : `Buy for ${formatPrice(ticket.price)}`}
      </button>
      {error ? (
        <span role="alert" className="max-w-xs text-right text-xs text-red-700">
          {error}
        </span>
      ) : null}
    </span>
  );
}
