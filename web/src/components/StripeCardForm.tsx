// Card entry through Stripe Elements, used when the server has a Stripe publishable key. Stripe.js
// is only loaded (from Stripe, as its terms require) when this component is shown, so the rest of
// the app never contacts Stripe. The card becomes a PaymentMethod (`pm_…`) that the server charges
// through payOrder's `token`.
import { useMemo, useState, type FormEvent } from 'react';
import { loadStripe } from '@stripe/stripe-js/pure';
import { CardElement, Elements, useElements, useStripe } from '@stripe/react-stripe-js';
import { Alert, buttonClass } from './ui';

export interface CardFormProps {
  /** Pays with the token; resolves to an error message or null. */
  pay: (token: string) => Promise<string | null>;
  disabled?: boolean;
  submitLabel: string;
}

const stripePromises = new Map<string, ReturnType<typeof loadStripe>>();

export default function StripeCardForm({ publishableKey, ...props }: CardFormProps & { publishableKey: string }) {
  const stripe = useMemo(() => {
    let p = stripePromises.get(publishableKey);
    if (!p) {
      p = loadStripe(publishableKey);
      stripePromises.set(publishableKey, p);
    }
    return p;
  }, [publishableKey]);
  return (
    <Elements stripe={stripe}>
      <CardForm {...props} />
    </Elements>
  );
}

function CardForm({ pay, disabled, submitLabel }: CardFormProps) {
  const stripe = useStripe();
  const elements = useElements();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!stripe || !elements) return;
    const card = elements.getElement(CardElement);
    if (!card) return;
    setBusy(true);
    setError(null);
    try {
      const { paymentMethod, error: stripeError } = await stripe.createPaymentMethod({ type: 'card', card });
      if (stripeError || !paymentMethod) {
        setError(stripeError?.message ?? 'The card could not be read.');
        return;
      }
      setError(await pay(paymentMethod.id));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} className="space-y-3" aria-label="Pay by card">
      {error ? <Alert>{error}</Alert> : null}
      <div>
        <span id="card-label" className="mb-1 block text-sm font-medium text-slate-700">
          Card
        </span>
        <div role="group" aria-labelledby="card-label" className="rounded-md border border-slate-300 bg-white px-3 py-3">
          <CardElement options={{ hidePostalCode: false, style: { base: { fontSize: '16px' } } }} />
        </div>
      </div>
      <button type="submit" className={buttonClass('primary')} disabled={!stripe || busy || disabled}>
        {busy ? 'Paying…' : submitLabel}
      </button>
    </form>
  );
}
