import { useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router';
import { useMutation } from 'urql';
import { CreateEventMutation } from '../graphql/operations';
import { toApiError } from '../lib/errors';
import { serverNow } from '../lib/serverClock';
import { CITY_MAX, EVENT_NAME_MAX, VENUE_MAX, compact, localDateTime, validateEventTimes, validateText, type FieldErrors } from '../lib/validation';
import { Alert, Field, PageTitle, buttonClass } from '../components/ui';

/** "2027-03-01T19:00" for a datetime-local input, in local time. */
function toLocalInput(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

function timeZoneName(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch {
    return 'your time zone';
  }
}

/**
 * A new event; whoever creates it is its organizer. Checked as the server checks it before
 * anything is sent; the server's own field errors (`extensions.fields`) land next to the same
 * inputs. Times are typed in the browser's time zone and sent as instants.
 */
export function CreateEventPage() {
  const [, createEvent] = useMutation(CreateEventMutation);
  const navigate = useNavigate();
  const [values, setValues] = useState({ name: '', venue: '', city: '', startsAt: '', onSaleAt: '' });
  const [errors, setErrors] = useState<FieldErrors>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const set = (k: keyof typeof values) => (e: { target: { value: string } }) => setValues((v) => ({ ...v, [k]: e.target.value }));

  async function submit(e: FormEvent) {
    e.preventDefault();
    setFormError(null);
    const local = compact({
      name: validateText(values.name, EVENT_NAME_MAX),
      venue: validateText(values.venue, VENUE_MAX),
      city: validateText(values.city, CITY_MAX),
      ...validateEventTimes(values.startsAt, values.onSaleAt, serverNow()),
    });
    setErrors(local);
    if (Object.keys(local).length) return;
    const onSale = localDateTime(values.onSaleAt);
    setBusy(true);
    try {
      const res = await createEvent({
        input: {
          name: values.name.trim(),
          venue: values.venue.trim(),
          city: values.city.trim(),
          startsAt: new Date(localDateTime(values.startsAt)!).toISOString(),
          ...(onSale === null ? {} : { onSaleAt: new Date(onSale).toISOString() }),
        },
      });
      const err = toApiError(res.error);
      if (!err && res.data) {
        navigate(`/events/${res.data.createEvent.id}`);
        return;
      }
      if (err) {
        setErrors(err.fields);
        if (Object.keys(err.fields).length === 0 || err.code !== 'BAD_USER_INPUT') setFormError(err.message);
      }
    } finally {
      setBusy(false);
    }
  }

  const min = toLocalInput(serverNow());
  return (
    <div className="mx-auto max-w-lg">
      <PageTitle>Create an event</PageTitle>
      <div className="rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
        <form noValidate onSubmit={submit} className="space-y-4">
          {formError ? <Alert>{formError}</Alert> : null}
          <Field label="Name" name="name" required maxLength={400} value={values.name} onChange={set('name')} error={errors.name} hint="Up to 200 characters, e.g. “Berlin Jazz Festival”." />
          <Field label="Venue" name="venue" required maxLength={400} value={values.venue} onChange={set('venue')} error={errors.venue} hint="Up to 200 characters." />
          <Field label="City" name="city" required maxLength={200} autoComplete="address-level2" value={values.city} onChange={set('city')} error={errors.city} hint="Up to 100 characters." />
          <Field
            label="Starts at"
            name="startsAt"
            type="datetime-local"
            required
            min={min}
            value={values.startsAt}
            onChange={set('startsAt')}
            error={errors.startsAt}
            hint={`In the future; your time zone (${timeZoneName()}).`}
          />
          <Field
            label="On sale at"
            name="onSaleAt"
            type="datetime-local"
            min={min}
            value={values.onSaleAt}
            onChange={set('onSaleAt')}
            error={errors.onSaleAt}
            hint={
              <>
                Optional: empty means on sale as soon as tickets are listed. With a time (before the start), tickets sell
                through a queue: buyers queue from 30 minutes before; at this time their order is drawn at random and
                they are let in at the configured rate, each with a few minutes to buy.
              </>
            }
          />
          <p className="text-xs text-slate-500">You will be its organizer. An event cannot be changed once created.</p>
          <button type="submit" className={buttonClass('primary')} disabled={busy}>
            {busy ? 'Creating…' : 'Create event'}
          </button>
        </form>
      </div>
    </div>
  );
}
