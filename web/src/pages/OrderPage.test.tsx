import { afterEach, describe, expect, it, vi } from 'vitest';
import { act, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { OrderPage } from './OrderPage';
import { gqlError, mockClient } from '../test/mockClient';
import { renderPage } from '../test/render';
import { order, ticket } from '../test/fixtures';
import type { OrderFieldsFragment } from '../gql/graphql';
import { resetServerClock } from '../lib/serverClock';
import type { CardFormProps } from '../components/StripeCardForm';

// Stripe.js cannot load in tests (it comes from Stripe's servers); a stand-in pays with a fixed
// PaymentMethod id, as the real form does after stripe.createPaymentMethod.
vi.mock('../components/StripeCardForm', () => ({
  default: ({ publishableKey, pay, submitLabel }: CardFormProps & { publishableKey: string }) => (
    <button type="button" data-testid="fake-stripe-form" data-key={publishableKey} onClick={() => void pay('pm_card_visa_fake')}>
      {submitLabel}
    </button>
  ),
}));

afterEach(() => resetServerClock());

const inMinutes = (m: number) => new Date(Date.now() + m * 60_000).toISOString();

function setup(current: OrderFieldsFragment, pay?: (token: string) => ReturnType<typeof gqlError> | { data: unknown }) {
  const server = { current };
  const mock = mockClient((name, vars) => {
    if (name === 'Me') return { data: { me: { __typename: 'User', id: 'buyer', email: 'b@example.com', createdAt: '2026-01-01T00:00:00Z' } } };
    if (name === 'Order') return { data: { order: server.current } };
    if (name === 'PaymentSettings') return { data: { paymentSettings: { __typename: 'PaymentSettings', processor: 'test', publishableKey: null } } };
    if (name === 'PayOrder') return pay?.(vars.token as string);
    return undefined;
  });
  renderPage(mock.client, <OrderPage />, { path: '/orders/:id', url: '/orders/o1' });
  return { ...mock, server };
}

const charge = {
  __typename: 'Charge' as const,
  id: 'ch1',
  orderId: 'o1',
  amount: '20.00',
  currency: 'usd',
  providerId: 'test_pi_123',
  createdAt: '2026-01-01T10:01:00Z',
};

describe('the order page', () => {
  it('shows expiry only when the server says so', async () => {
    const created = order({ expiresAt: inMinutes(5), createdAt: inMinutes(-10), updatedAt: inMinutes(-10) });
    const mock = setup(created);
    expect(await screen.findByRole('timer')).toHaveTextContent(/^(5:00|4:59) left to pay$/);
    expect(screen.getByRole('button', { name: 'Cancel order' })).toBeEnabled();
    act(() =>
      mock.push('OrderExpired', { orderExpired: { ...created, status: 'CANCELLED', updatedAt: inMinutes(0), ticket: ticket() } }),
    );
    expect(await screen.findByText('This order expired')).toBeInTheDocument();
    expect(screen.getByTestId('order-status')).toHaveTextContent('Expired');
    expect(screen.queryByRole('timer')).not.toBeInTheDocument();
  });

  it('tells a declined card apart and lets the buyer try again, then shows the receipt', async () => {
    const user = userEvent.setup();
    const created = order({ expiresAt: inMinutes(10) });
    const mock = setup(created, (token) => {
      if (token === 'tok_chargeDeclined') return gqlError('PAYMENT_FAILED', 'your card was declined; nothing was charged');
      mock.server.current = { ...created, status: 'COMPLETE', charge, ticket: ticket({ status: 'SOLD', version: 3 }), updatedAt: inMinutes(0) };
      return { data: { payOrder: charge } };
    });
    await user.click(await screen.findByRole('button', { name: /Card that is declined/ }));
    expect(screen.getByLabelText('Test card token')).toHaveValue('tok_chargeDeclined');
    await user.click(screen.getByRole('button', { name: 'Pay $20.00' }));
    expect(await screen.findByRole('alert')).toHaveTextContent(
      'Your card was declined; nothing was charged. You can try again, with another card, while time remains.',
    );

    await user.click(screen.getByRole('button', { name: /Visa that pays/ }));
    await user.click(screen.getByRole('button', { name: 'Pay $20.00' }));
    const receipt = await screen.findByTestId('receipt');
    expect(receipt).toHaveTextContent('$20.00');
    expect(receipt).toHaveTextContent('USD');
    expect(receipt).toHaveTextContent('test_pi_123');
    expect(mock.calls.filter((c) => c.name === 'PayOrder').map((c) => c.variables)).toEqual([
      { orderId: 'o1', token: 'tok_chargeDeclined' },
      { orderId: 'o1', token: 'tok_visa' },
    ]);
  });

  it('follows orderUpdated to COMPLETE and chargeCreated to the receipt', async () => {
    const created = order({ expiresAt: inMinutes(10) });
    const mock = setup(created);
    await screen.findByRole('timer');
    act(() => mock.push('ChargeCreated', { chargeCreated: charge }));
    act(() => mock.push('OrderUpdated', { orderUpdated: { ...created, status: 'COMPLETE', updatedAt: inMinutes(0) } }));
    await waitFor(() => expect(screen.getByTestId('receipt')).toHaveTextContent('test_pi_123'));
  });

  it('says "not found" for someone else’s order', async () => {
    const mock = mockClient((name) => {
      if (name === 'Me') return { data: { me: null } };
      if (name === 'Order') return gqlError('NOT_FOUND', 'no such order');
      return undefined;
    });
    renderPage(mock.client, <OrderPage />, { path: '/orders/:id', url: '/orders/o1' });
    expect(await screen.findByRole('heading', { name: 'Order not found' })).toBeInTheDocument();
  });
});

describe('paying with Stripe Elements', () => {
  it('uses the Stripe card form when the server has a publishable key, sending the PaymentMethod id', async () => {
    const user = userEvent.setup();
    const created = order({ expiresAt: inMinutes(10) });
    const mock = mockClient((name) => {
      if (name === 'Me') return { data: { me: { id: 'buyer', email: 'b@example.com', createdAt: '2026-01-01T00:00:00Z' } } };
      if (name === 'Order') return { data: { order: created } };
      if (name === 'PaymentSettings') return { data: { paymentSettings: { processor: 'stripe', publishableKey: 'pk_test_123' } } };
      if (name === 'PayOrder') return { data: { payOrder: charge } };
      return undefined;
    });
    renderPage(mock.client, <OrderPage />, { path: '/orders/:id', url: '/orders/o1' });
    const stripeForm = await screen.findByTestId('fake-stripe-form');
    expect(stripeForm).toHaveAttribute('data-key', 'pk_test_123');
    expect(screen.queryByLabelText('Test card token')).not.toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Pay $20.00' }));
    await waitFor(() =>
      expect(mock.calls.find((c) => c.name === 'PayOrder')?.variables).toEqual({ orderId: 'o1', token: 'pm_card_visa_fake' }),
    );
  });

  it('cancels a CREATED order', async () => {
    const user = userEvent.setup();
    const created = order({ expiresAt: inMinutes(10) });
    const mock = mockClient((name) => {
      if (name === 'Me') return { data: { me: null } };
      if (name === 'Order') return { data: { order: created } };
      if (name === 'PaymentSettings') return { data: { paymentSettings: { processor: 'test', publishableKey: null } } };
      if (name === 'CancelOrder') return { data: { cancelOrder: { ...created, status: 'CANCELLED', updatedAt: inMinutes(0) } } };
      return undefined;
    });
    renderPage(mock.client, <OrderPage />, { path: '/orders/:id', url: '/orders/o1' });
    await user.click(await screen.findByRole('button', { name: 'Cancel order' }));
    expect(await screen.findByText('This order was cancelled')).toBeInTheDocument();
    expect(screen.getByTestId('order-status')).toHaveTextContent('Cancelled');
  });
});
