import { useState } from 'react';
import { useNavigate, useSearchParams } from 'react-router';
import { useMutation, useQuery } from 'urql';
import type { EventFieldsFragment } from '../gql/graphql';
import { CreateTicketMutation, EventQuery } from '../graphql/operations';
import { toApiError } from '../lib/errors';
import { EventPicker } from '../components/EventPicker';
import { TicketForm } from '../components/TicketForm';
import { PageTitle } from '../components/ui';

/** Lists a ticket, for an event picked from the upcoming ones (`?event=<id>` preselects it) or for none. */
export function SellPage() {
  const [, createTicket] = useMutation(CreateTicketMutation);
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const presetId = params.get('event');
  const [preset] = useQuery({ query: EventQuery, variables: { id: presetId ?? '' }, pause: !presetId });
  // undefined until the seller picks: the preset (if any) is shown meanwhile.
  const [picked, setPicked] = useState<EventFieldsFragment | null | undefined>(undefined);
  const event = picked === undefined ? (presetId ? (preset.data?.event ?? null) : null) : picked;
  const [typed, setTyped] = useState('');
  const [eventError, setEventError] = useState<string | undefined>();

  return (
    <div className="mx-auto max-w-lg">
      <PageTitle>Sell a ticket</PageTitle>
      <div className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
        <TicketForm
          submitLabel="List ticket"
          onSubmit={async (values) => {
            if (!event && typed.trim()) {
              const msg = 'is not picked yet: choose one of the suggestions, or clear the search to list without an event';
              setEventError(msg);
              return { code: 'BAD_USER_INPUT', message: msg, fields: { eventId: msg } };
            }
            setEventError(undefined);
            const res = await createTicket({ input: event ? { ...values, eventId: event.id } : values });
            const err = toApiError(res.error);
            if (!err && res.data) navigate(`/tickets/${res.data.createTicket.id}`);
            if (event && (err?.code === 'NOT_FOUND' || err?.code === 'CONFLICT')) {
              // The only things createTicket can find missing or too late: the event.
              const msg = err.code === 'NOT_FOUND' ? 'no longer exists; pick another one' : 'has started: tickets can no longer be listed for it';
              setEventError(msg);
              return { ...err, code: 'BAD_USER_INPUT', fields: { eventId: msg } };
            }
            return err;
          }}
        >
          <EventPicker
            value={event}
            onChange={(e) => {
              setPicked(e);
              setEventError(undefined);
            }}
            onTextChange={(t) => {
              setTyped(t);
              setEventError(undefined);
            }}
            error={eventError}
          />
        </TicketForm>
      </div>
    </div>
  );
}
