import { useState, type FormEvent } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { useMutation } from 'urql';
import { SignInMutation, SignUpMutation } from '../graphql/operations';
import { safeNext, useAuth } from '../auth';
import { toApiError } from '../lib/errors';
import { compact, validateEmail, validatePassword, type FieldErrors } from '../lib/validation';
import { Alert, Field, PageTitle, buttonClass } from '../components/ui';

export function AuthPage({ mode }: { mode: 'signin' | 'signup' }) {
  const [params] = useSearchParams();
  const next = safeNext(params.get('next'));
  const navigate = useNavigate();
  const { signedIn } = useAuth();
  const [, signIn] = useMutation(SignInMutation);
  const [, signUp] = useMutation(SignUpMutation);
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const signingUp = mode === 'signup';

  async function onSubmit(e: FormEvent) {
    e.preventDefault();
    setFormError(null);
    const local = compact({
      email: validateEmail(email),
      // Signing in only needs something typed; the length rules are for new passwords.
      password: signingUp ? validatePassword(password) : password ? undefined : 'is required',
    });
    setErrors(local);
    if (Object.keys(local).length) return;
    setBusy(true);
    const vars = { email: email.trim(), password };
    const res = signingUp ? await signUp(vars) : await signIn(vars);
    setBusy(false);
    const err = toApiError(res.error);
    if (err) {
      setErrors(err.fields);
      if (err.code === 'CONFLICT' && signingUp) setFormError('An account with this email already exists. Sign in instead?');
      else if (err.code === 'UNAUTHENTICATED') setFormError('Wrong email or password.');
      else if (err.code !== 'BAD_USER_INPUT' || Object.keys(err.fields).length === 0) setFormError(err.message);
      return;
    }
    signedIn();
    navigate(next, { replace: true });
  }

  const other = signingUp ? '/signin' : '/signup';
  const otherQuery = next !== '/' ? `?next=${encodeURIComponent(next)}` : '';
  return (
    <div className="mx-auto max-w-sm">
      <PageTitle>{signingUp ? 'Create an account' : 'Sign in'}</PageTitle>
      {next !== '/' && !signingUp ? (
        <div className="mb-4">
          <Alert kind="info">Sign in to continue.</Alert>
        </div>
      ) : null}
      <form noValidate onSubmit={onSubmit} className="space-y-4 rounded-lg border border-slate-200 bg-white p-4 shadow-sm">
        {formError ? <Alert>{formError}</Alert> : null}
        <Field
          label="Email"
          type="email"
          name="email"
          autoComplete="email"
          required
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          error={errors.email}
        />
        <Field
          label="Password"
          type="password"
          name="password"
          autoComplete={signingUp ? 'new-password' : 'current-password'}
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          error={errors.password}
          hint={signingUp ? '8 to 128 characters.' : undefined}
        />
        <button type="submit" className={`${buttonClass('primary')} w-full`} disabled={busy}>
          {busy ? 'Please wait…' : signingUp ? 'Sign up' : 'Sign in'}
        </button>
      </form>
      <p className="mt-4 text-sm text-slate-600">
        {signingUp ? 'Already have an account? ' : 'New here? '}
        <Link to={`${other}${otherQuery}`} className="font-medium text-indigo-700 underline">
          {signingUp ? 'Sign in' : 'Create an account'}
        </Link>
      </p>
    </div>
  );
}
