// The end-to-end stories of issue #5, against a real server.
import { join } from 'node:path';
import { SCREENSHOTS, assert, gql, sleep } from './lib.mjs';

const PASSWORD = 'correct horse battery';
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

export async function shot(page, name) {
  // Let fonts, live updates and transitions settle; never the full page, to keep files small.
  await page.waitForTimeout(150);
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
}

async function newPage(browser, { viewport = DESKTOP, label } = {}) {
  const ctx = await browser.newContext({ viewport, locale: 'en-US', timezoneId: 'UTC' });
  const page = await ctx.newPage();
  page.setDefaultTimeout(10_000);
  page.on('pageerror', (e) => console.error(`  [${label}] page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') console.error(`  [${label}] console error: ${m.text()}`);
  });
  return page;
}

async function signUp(page, base, email, { screenshot, keyboard } = {}) {
  await page.goto(`${base}/signup`);
  if (keyboard) {
    // Keyboard only: the skip link first, then the form's fields in order, Enter submits.
    await page.getByLabel('Email').waitFor();
    await page.keyboard.press('Tab');
    assert((await page.evaluate(() => document.activeElement?.textContent)) === 'Skip to content', 'the first Tab reaches the skip link');
    await page.getByLabel('Email').focus();
    await page.keyboard.type(email);
    await page.keyboard.press('Tab');
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
    await page.getByTestId('signed-in-as').filter({ hasText: email }).waitFor();
    return;
  }
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('short');
  await page.getByRole('button', { name: 'Sign up' }).click();
  // Client-side validation, before anything is sent.
  await page.getByText('Password must be at least 8 characters').waitFor();
  if (screenshot) await shot(page, screenshot);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign up' }).click();
  await page.getByTestId('signed-in-as').filter({ hasText: email }).waitFor();
}

async function listTicket(page, base, title, price, { screenshot } = {}) {
  await page.goto(`${base}/sell`);
  await page.getByLabel('Title').fill(title);
  await page.getByLabel('Price (USD)').fill('12.345');
  await page.getByRole('button', { name: 'List ticket' }).click();
  await page.getByText('Price (USD) must have at most 2 decimals').waitFor();
  if (screenshot) await shot(page, screenshot);
  await page.getByLabel('Price (USD)').fill(price);
  await page.getByRole('button', { name: 'List ticket' }).click();
  await page.waitForURL(/\/tickets\/[0-9a-f-]+$/);
  const id = page.url().split('/').pop();
  await page.getByTestId('ticket-status').locator('[data-status="AVAILABLE"]').waitFor();
  return id;
}

const badge = (page, ticketId, status) => page.locator(`[data-ticket-id="${ticketId}"] [data-status="${status}"]`);

/** Story 1: list, see it live, buy, see it reserved live, pay, see the receipt and SOLD everywhere. */
export async function storyBuyAndPay({ browser, server }) {
  const base = server.url;
  const seller = await newPage(browser, { label: 'seller' });
  const buyer = await newPage(browser, { label: 'buyer' });
  const watcher = await newPage(browser, { label: 'watcher' }); // signed out, all tickets

  await signUp(seller, base, 'seller@example.com', { screenshot: 'signup' });

  await buyer.goto(`${base}/signin`);
  await buyer.getByLabel('Email').fill('nobody@example.com');
  await buyer.getByLabel('Password').fill(PASSWORD);
  await buyer.getByRole('button', { name: 'Sign in' }).click();
  await buyer.getByText('Wrong email or password.').waitFor();
  await shot(buyer, 'signin');
  await signUp(buyer, base, 'buyer@example.com');

  // Both landing pages are open before the ticket exists.
  await buyer.goto(`${base}/`);
  await buyer.getByRole('heading', { name: 'On sale' }).waitFor();
  await watcher.goto(`${base}/?show=all`);
  await watcher.getByRole('heading', { name: 'All tickets' }).waitFor();
  await sleep(300); // the subscriptions are set up

  const ticketId = await listTicket(seller, base, 'Opera night, row 5', '20.50', { screenshot: 'sell' });

  // It shows up on the buyer's landing page without a reload.
  await badge(buyer, ticketId, 'AVAILABLE').waitFor({ timeout: 5_000 });
  await badge(watcher, ticketId, 'AVAILABLE').waitFor({ timeout: 5_000 });
  await shot(buyer, 'landing');

  await buyer.locator(`[data-ticket-id="${ticketId}"] a`).click();
  await buyer.waitForURL(`${base}/tickets/${ticketId}`);
  await buyer.getByRole('button', { name: /Buy for \$20\.50/ }).waitFor();
  await shot(buyer, 'ticket');
  await buyer.getByRole('button', { name: /Buy for/ }).click();
  await buyer.waitForURL(/\/orders\/[0-9a-f-]+$/);
  const orderId = buyer.url().split('/').pop();
  await buyer.getByTestId('countdown').filter({ hasText: /1[45]:\d\d left to pay/ }).waitFor();

  // The seller and the watcher see it reserved, live.
  await seller.getByTestId('ticket-status').locator('[data-status="RESERVED"]').waitFor({ timeout: 5_000 });
  assert(await seller.getByRole('button', { name: 'Edit' }).isDisabled(), 'Edit is disabled while reserved');
  await seller.getByText('You cannot edit this ticket while it is reserved').waitFor();
  await badge(watcher, ticketId, 'RESERVED').waitFor({ timeout: 5_000 });

  // A declined card first: the order stays payable.
  await buyer.getByLabel('Test card token').fill('tok_chargeDeclined');
  await buyer.getByRole('button', { name: /^Pay / }).click();
  await buyer.getByText(/Your card was declined/).waitFor();
  await shot(buyer, 'order-countdown');
  assert(!(await buyer.getByTestId('receipt').isVisible()), 'no receipt after a decline');

  await buyer.getByRole('button', { name: /Visa that pays/ }).click();
  await buyer.getByRole('button', { name: /^Pay / }).click();
  await buyer.getByTestId('receipt').waitFor();
  await buyer.getByTestId('receipt-amount').filter({ hasText: '$20.50' }).waitFor();
  const providerId = (await buyer.getByTestId('receipt-provider-id').textContent())?.trim();
  assert(providerId && providerId.length > 3, `receipt shows the provider id (${providerId})`);
  await buyer.getByTestId('order-status').locator('[data-status="COMPLETE"]').waitFor();
  await shot(buyer, 'receipt');

  // SOLD everywhere, live.
  await seller.getByTestId('ticket-status').locator('[data-status="SOLD"]').waitFor({ timeout: 5_000 });
  await badge(watcher, ticketId, 'SOLD').waitFor({ timeout: 5_000 });
  await buyer.goto(`${base}/tickets/${ticketId}`);
  await buyer.getByTestId('ticket-status').locator('[data-status="SOLD"]').waitFor();
  assert(await buyer.getByRole('button', { name: /Buy for/ }).isDisabled(), 'Buy is disabled once sold');

  await seller.goto(`${base}/my/tickets`);
  await badge(seller, ticketId, 'SOLD').waitFor();
  await shot(seller, 'my-tickets');

  await buyer.goto(`${base}/orders`);
  await buyer.locator(`[data-order-id="${orderId}"] [data-status="COMPLETE"]`).waitFor();
  await shot(buyer, 'my-orders');

  const phone = await newPage(browser, { viewport: PHONE, label: 'phone' });
  await phone.goto(`${base}/?show=all`);
  await badge(phone, ticketId, 'SOLD').waitFor();
  await shot(phone, 'landing-phone');

  await Promise.all([seller, buyer, watcher, phone].map((p) => p.context().close()));
}

/** Story 2: the buyer lets the countdown run out; the order expires and the ticket is back on sale. */
export async function storyExpiry({ browser, server, ttlSeconds }) {
  const base = server.url;
  const seller = await newPage(browser, { label: 'seller' });
  const buyer = await newPage(browser, { label: 'buyer' });
  await signUp(seller, base, 'seller2@example.com');
  await signUp(buyer, base, 'buyer2@example.com', { keyboard: true });
  const ticketId = await listTicket(seller, base, 'Jazz club, Friday', '35');
  await seller.goto(`${base}/`);
  await badge(seller, ticketId, 'AVAILABLE').waitFor();

  await buyer.goto(`${base}/tickets/${ticketId}`);
  await buyer.getByRole('button', { name: /Buy for/ }).click();
  await buyer.waitForURL(/\/orders\/[0-9a-f-]+$/);
  const orderId = buyer.url().split('/').pop();
  const data = await buyer.evaluate(async (id) => {
    const r = await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'query($id: ID!) { order(id: $id) { expiresAt } }', variables: { id } }),
    });
    return r.json();
  }, orderId);
  const expiresAt = Date.parse(data.data.order.expiresAt);
  const countdown = buyer.getByTestId('countdown');
  await countdown.filter({ hasText: /left to pay/ }).waitFor();
  await badge(seller, ticketId, 'RESERVED').waitFor({ timeout: 5_000 });
  // The countdown runs down on the server's clock (the page never says "expired" by itself: it
  // waits for the server, which fires within about a second of the deadline).
  const secondsLeft = async () => {
    const m = /(\d+):(\d\d) left/.exec((await countdown.textContent()) ?? '');
    return m ? Number(m[1]) * 60 + Number(m[2]) : null;
  };
  const first = await secondsLeft();
  const expected = Math.ceil((expiresAt - Date.now()) / 1000);
  assert(first !== null && Math.abs(first - expected) <= 1, `countdown shows ${first} s, expected about ${expected} s`);
  // (2 s: the clock-offset estimate may still move by a fraction of a second meanwhile.)
  await buyer.waitForTimeout(2_100);
  const second = await secondsLeft();
  assert(second !== null && second < first, `countdown runs down (${first} s, then ${second} s)`);

  await buyer.getByText('This order expired').waitFor({ timeout: (ttlSeconds + 10) * 1000 });
  const lag = Date.now() - expiresAt;
  await buyer.getByTestId('order-status').locator('[data-status="CANCELLED"]').filter({ hasText: 'Expired' }).waitFor();
  await shot(buyer, 'expired');
  assert(lag < 5_000, `expiry shown ${lag} ms after the deadline`);

  // Back on sale in the other context, live.
  await badge(seller, ticketId, 'AVAILABLE').waitFor({ timeout: 5_000 });
  await seller.goto(`${base}/tickets/${ticketId}`);
  assert(!(await seller.getByRole('button', { name: 'Edit' }).isDisabled()), 'the seller can edit again');
  await Promise.all([seller, buyer].map((p) => p.context().close()));
  return `expiry confirmed on screen ${lag} ms after expiresAt`;
}

/**
 * Story 3: the server goes away and comes back; the page shows it is reconnecting, and what
 * happened while it was disconnected (a new listing, whose event it never got) shows up after
 * the reconnect, by the refetch.
 */
export async function storyReconnect({ browser, server }) {
  const base = server.url;
  const watcher = await newPage(browser, { label: 'watcher' });
  const { signUp: auth } = await gql(server, 'mutation { signUp(email: "seller3@example.com", password: "correct horse battery") { token } }');
  await watcher.goto(`${base}/`);
  await watcher.getByRole('heading', { name: 'On sale' }).waitFor();
  await sleep(300);
  await server.stop();
  await watcher.getByText('Live updates interrupted; reconnecting…').waitFor({ timeout: 15_000 });
  await server.restart();
  const { createTicket } = await gql(
    server,
    'mutation { createTicket(input: { title: "Missed while offline", price: "9.99" }) { id } }',
    {},
    auth.token,
  );
  await badge(watcher, createTicket.id, 'AVAILABLE').waitFor({ timeout: 20_000 });
  await watcher.getByText('Live updates interrupted; reconnecting…').waitFor({ state: 'hidden' });
  await watcher.context().close();
}

/** GraphiQL: served at GET /graphql for browsers, bundled, runs a query with the session cookie. */
export async function storyGraphiql({ browser, server }) {
  const base = server.url;
  const page = await newPage(browser, { label: 'graphiql' });
  await signUp(page, base, 'explorer@example.com');
  const res = await page.goto(`${base}/graphql`);
  assert(res?.status() === 200, `GET /graphql answers 200 (${res?.status()})`);
  assert(
    (await page.locator('script[src^="/assets/graphiql"]').count()) === 1,
    'GET /graphql serves the bundled WEB_DIR/graphiql.html (not a CDN page)',
  );
  await page.locator('.graphiql-container').waitFor({ timeout: 20_000 });
  // The editors load asynchronously (Monaco and its workers): press Execute until it answers.
  const result = page.locator('.result-window').filter({ hasText: 'explorer@example.com' });
  for (let i = 0; ; i++) {
    await page.getByRole('button', { name: /Execute query/i }).first().click();
    try {
      await result.waitFor({ timeout: 1_500 });
      break;
    } catch (e) {
      if (i >= 12) throw e;
    }
  }
  await shot(page, 'graphiql');
  await page.context().close();
}
