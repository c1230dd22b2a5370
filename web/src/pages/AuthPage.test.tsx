import { describe, expect, it } from 'vitest';
import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { AuthPage } from './AuthPage';
import { gqlError, mockClient } from '../test/mockClient';
import { renderPage } from '../test/render';

function setup(mode: 'signin' | 'signup', reply: () => ReturnType<typeof gqlError>) {
  const mock = mockClient((name) => {
    if (name === 'Me') return { data: { me: null } };
    if (name === 'SignUp' || name === 'SignIn') return reply();
    return undefined;
  });
  renderPage(mock.client, <AuthPage mode={mode} />, { path: `/${mode}`, url: `/${mode}` });
  return mock;
}

describe('sign up and sign in', () => {
  it('validates the email and the new password on the client', async () => {
    const user = userEvent.setup();
    const mock = setup('signup', () => gqlError('INTERNAL_SERVER_ERROR', 'x'));
    await user.type(screen.getByLabelText('Email'), 'ada@example');
    await user.type(screen.getByLabelText('Password'), 'short');
    await user.click(screen.getByRole('button', { name: 'Sign up' }));
    expect(screen.getByText('Email must be a valid email address')).toBeInTheDocument();
    expect(screen.getByText('Password must be at least 8 characters')).toBeInTheDocument();
    expect(mock.calls.some((c) => c.name === 'SignUp')).toBe(false);
  });

  it('shows extensions.fields from the server by field', async () => {
    const user = userEvent.setup();
    setup('signup', () => gqlError('BAD_USER_INPUT', 'invalid input', [{ field: 'password', message: 'is too common' }]));
    await user.type(screen.getByLabelText('Email'), 'ada@example.com');
    await user.type(screen.getByLabelText('Password'), 'password1');
    await user.click(screen.getByRole('button', { name: 'Sign up' }));
    expect(await screen.findByText('Password is too common')).toBeInTheDocument();
    expect(screen.getByLabelText('Password')).toHaveAttribute('aria-invalid', 'true');
  });

  it('explains a taken email and wrong credentials', async () => {
    const user = userEvent.setup();
    setup('signup', () => gqlError('CONFLICT', 'email already taken'));
    await user.type(screen.getByLabelText('Email'), 'ada@example.com');
    await user.type(screen.getByLabelText('Password'), 'password1');
    await user.click(screen.getByRole('button', { name: 'Sign up' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('An account with this email already exists');
  });

  it('says when sign-in is throttled', async () => {
    const user = userEvent.setup();
    setup('signin', () => ({ data: null, errors: [{ message: 'too many', extensions: { code: 'RATE_LIMITED', retryAfterSeconds: 600 } }] }));
    await user.type(screen.getByLabelText('Email'), 'ada@example.com');
    await user.type(screen.getByLabelText('Password'), 'whatever');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('Too many attempts; try again in 10 minutes.');
  });
});
