import { useState, type FormEvent } from 'react';
import type { CardFormProps } from './StripeCardForm';
import { Alert, Field, buttonClass } from './ui';

export const TEST_CARDS = [
  { token: 'tok_visa', label: 'Visa that pays' },
  { token: 'tok_chargeDeclined', label: 'Card that is declined' },
] as const;

/** The built-in test processor takes card tokens as Stripe's test mode names them. */
export function TestCardForm({ pay, disabled, submitLabel }: CardFormProps) {
  const [token, setToken] = useState<string>('tok_visa');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const t = token.trim();
    if (!t) {
      setError('Card token is required.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      setError(await pay(t));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit} className="space-y-3" aria-label="Pay by card">
      {error ? <Alert title="Payment failed">{error}</Alert> : null}
      <Field
        label="Test card token"
        name="token"
        list="test-card-tokens"
        autoComplete="off"
        spellCheck={false}
        value={token}
        onChange={(e) => setToken(e.target.value)}
        hint={
          <>
            This server uses the built-in test processor: <code>tok_visa</code> pays, <code>tok_chargeDeclined</code> is declined.
          </>
        }
      />
      <datalist id="test-card-tokens">
        {TEST_CARDS.map((c) => (
          <option key={c.token} value={c.token}>
            {c.label}
          </option>
        ))}
      </datalist>
      <div className="flex flex-wrap gap-2" role="group" aria-label="Choose a test card">
        {TEST_CARDS.map((c) => (
          <button
            key={c.token}
            type="button"
            aria-pressed={token === c.token}
            className={`rounded-full border px-3 py-1 text-xs focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 ${
              token === c.token ? 'border-indigo-600 bg-indigo-50 text-indigo-800' : 'border-slate-300 text-slate-700'
            }`}
            onClick={() => setToken(c.token)}
          >
            {c.label} ({c.token})
          </button>
        ))}
      </div>
      <button type="submit" className={buttonClass('primary')} disabled={busy || disabled}>
        {busy ? 'Paying…' : submitLabel}
      </button>
    </form>
  );
}
