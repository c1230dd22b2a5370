import { useState, type FormEvent, type ReactNode } from 'react';
import { centsToDecimal, compact, parsePrice, validatePrice, validateTitle, type FieldErrors } from '../lib/validation';
import type { ApiError } from '../lib/errors';
import { Alert, Field, buttonClass } from './ui';

export interface TicketFormValues {
  title: string;
  /** Normalised decimal string, e.g. "20.50". */
  price: string;
}

/**
 * Title and price, checked as the server checks them before anything is sent; the server's own
 * field errors (`extensions.fields`) land next to the same inputs.
 */
export function TicketForm({
  initial,
  submitLabel,
  onSubmit,
  disabled,
  children,
}: {
  initial?: { title: string; price: string };
  submitLabel: string;
  /** Resolves to the server's error, or null on success. */
  onSubmit: (values: TicketFormValues) => Promise<ApiError | null>;
  disabled?: boolean;
  children?: ReactNode;
}) {
  const [title, setTitle] = useState(initial?.title ?? '');
  const [price, setPrice] = useState(initial?.price ?? '');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setFormError(null);
    const local = compact({ title: validateTitle(title), price: validatePrice(price) });
    setErrors(local);
    if (Object.keys(local).length) return;
    const parsed = parsePrice(price);
    if (!('cents' in parsed)) return;
    setBusy(true);
    try {
      const err = await onSubmit({ title: title.trim(), price: centsToDecimal(parsed.cents) });
      if (err) {
        setErrors(err.fields);
        if (Object.keys(err.fields).length === 0 || err.code !== 'BAD_USER_INPUT') setFormError(err.message);
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <form noValidate onSubmit={submit} className="space-y-4">
      {formError ? <Alert>{formError}</Alert> : null}
      {children}
      <Field
        label="Title"
        name="title"
        required
        maxLength={400}
        value={title}
        disabled={disabled}
        onChange={(e) => setTitle(e.target.value)}
        error={errors.title}
        hint="What the ticket is for, up to 200 characters."
      />
      <Field
        label="Price (USD)"
        name="price"
        inputMode="decimal"
        required
        value={price}
        disabled={disabled}
        onChange={(e) => setPrice(e.target.value)}
        error={errors.price}
        hint="More than 0 and at most 1,000,000, with up to 2 decimals, e.g. 20 or 19.99."
      />
      <button type="submit" className={buttonClass('primary')} disabled={busy || disabled}>
        {busy ? 'Saving…' : submitLabel}
      </button>
    </form>
  );
}
