import { useNavigate } from 'react-router';
import { useMutation } from 'urql';
import { CreateTicketMutation } from '../graphql/operations';
import { toApiError } from '../lib/errors';
import { TicketForm } from '../components/TicketForm';
import { PageTitle } from '../components/ui';

export function SellPage() {
  const [, createTicket] = useMutation(CreateTicketMutation);
  const navigate = useNavigate();
  return (
    <div className="mx-auto max-w-lg">
      <PageTitle>Sell a ticket</PageTitle>
      <div className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
        <TicketForm
          submitLabel="List ticket"
          onSubmit={async (values) => {
            const res = await createTicket({ input: values });
            const err = toApiError(res.error);
            if (!err && res.data) navigate(`/tickets/${res.data.createTicket.id}`);
            return err;
          }}
        />
      </div>
    </div>
  );
}
