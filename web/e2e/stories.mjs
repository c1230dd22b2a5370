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

/** Waits until `locator` matches exactly `n` elements. */
async function waitForCount(locator, n, what, timeout = 5_000) {
  const deadline = Date.now() + timeout;
  let count;
  while ((count = await locator.count()) !== n) {
    if (Date.now() > deadline) throw new Error(`assertion failed: ${what} (${count}, not ${n})`);
    await sleep(50);
  }
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

  const ticketId = await listTicket(seller, base, 'Opera night, row 5', '20.50');

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

/** "2027-01-31T19:30" `days` from now, for a datetime-local input (the contexts run in UTC). */
function localInput(days, hour = 19) {
  const d = new Date(Date.now() + days * 86_400_000);
  d.setUTCHours(hour, 30, 0, 0);
  return d.toISOString().slice(0, 16);
}

/**
 * Story 4: events. An organizer creates an event; a seller lists two tickets for it (picking it,
 * then from the event page's link); the events page finds it as you type; the event page lists
 * the tickets cheapest first; a buyer reserves the cheapest and the counts drop live elsewhere; a
 * watcher (signed in, max price) and a visitor on a phone (signed out, any price) watch the event;
 * the buyer cancels, the ticket shows up at once under "Just available" for both, and the watcher
 * buys it from there.
 */
export async function storyEvents({ browser, server }) {
  const base = server.url;
  const organizer = await newPage(browser, { label: 'organizer' });
  const seller = await newPage(browser, { label: 'seller' });
  const buyer = await newPage(browser, { label: 'buyer' });
  const watcher = await newPage(browser, { label: 'watcher' });
  const phone = await newPage(browser, { viewport: PHONE, label: 'phone' }); // signed out

  // Two more events, by another organizer through the API, so the search has something to leave out.
  const { signUp: other } = await gql(server, `mutation { signUp(email: "organizer2@example.com", password: "${PASSWORD}") { token } }`);
  const create = (name, venue, city, startsAt) =>
    gql(
      server,
      'mutation($i: CreateEventInput!) { createEvent(input: $i) { id } }',
      { i: { name, venue, city, startsAt: new Date(`${startsAt}:00Z`).toISOString() } },
      other.token,
    );
  await create('Mahler 5, Berliner Philharmoniker', 'Philharmonie', 'Berlin', localInput(20));
  await create('Zürich Opera Gala', 'Opernhaus', 'Zürich', localInput(10));

  // The organizer creates the event; a start in the past is refused before anything is sent.
  await signUp(organizer, base, 'organizer@example.com');
  await organizer.getByRole('link', { name: 'Events' }).click();
  await organizer.getByRole('link', { name: 'Create event' }).click();
  await organizer.waitForURL(`${base}/events/new`);
  await organizer.getByLabel('Name').fill('Berlin Jazz Festival');
  await organizer.getByLabel('Venue').fill('Haus der Berliner Festspiele');
  await organizer.getByLabel('City').fill('Berlin');
  await organizer.getByLabel('Starts at').fill(localInput(-1));
  await organizer.getByRole('button', { name: 'Create event' }).click();
  await organizer.getByText('Starts at must be in the future').waitFor();
  await organizer.getByLabel('Starts at').fill(localInput(30));
  await organizer.getByRole('button', { name: 'Create event' }).click();
  await organizer.waitForURL(/\/events\/[0-9a-f-]+$/);
  const eventId = organizer.url().split('/').pop();
  await organizer.getByRole('heading', { level: 1, name: 'Berlin Jazz Festival' }).waitFor();
  await organizer.getByText('You organise this event.').waitFor();
  await organizer.getByTestId('event-availability').filter({ hasText: 'No tickets yet' }).waitFor();

  // The seller lists a ticket, picking the event by searching for it.
  await signUp(seller, base, 'seller4@example.com');
  await seller.goto(`${base}/sell`);
  await seller.getByLabel('Title').fill('Balcony, seat 12');
  await seller.getByLabel('Price (USD)').fill('40');
  await seller.getByRole('combobox', { name: 'Event (optional)' }).fill('jazz berl');
  const option = seller.getByRole('option', { name: /Berlin Jazz Festival/ });
  await waitForCount(seller.getByRole('option'), 1, 'the picker shows only the matching event');
  await option.waitFor();
  await shot(seller, 'sell');
  await option.click();
  await seller.getByRole('group', { name: 'Event' }).filter({ hasText: 'Berlin Jazz Festival' }).waitFor();
  await seller.getByRole('button', { name: 'List ticket' }).click();
  await seller.waitForURL(/\/tickets\/[0-9a-f-]+$/);
  const balcony = seller.url().split('/').pop();
  await seller.getByTestId('ticket-event').getByRole('link', { name: 'Berlin Jazz Festival' }).click();
  await seller.waitForURL(`${base}/events/${eventId}`);
  // A second one from the event page's own link: the event is already picked.
  await seller.getByRole('link', { name: 'Sell a ticket for this event' }).click();
  await seller.getByRole('group', { name: 'Event' }).filter({ hasText: 'Berlin Jazz Festival' }).waitFor();
  await seller.getByLabel('Title').fill('Front row, seat 1');
  await seller.getByLabel('Price (USD)').fill('65');
  await seller.getByRole('button', { name: 'List ticket' }).click();
  await seller.waitForURL(/\/tickets\/[0-9a-f-]+$/);
  await seller.getByTestId('ticket-event').waitFor();

  // The events page searches as you type, with the search in the URL.
  await signUp(buyer, base, 'buyer4@example.com');
  await buyer.getByRole('link', { name: 'Events' }).click();
  await buyer.getByRole('heading', { name: 'Events' }).waitFor();
  await buyer.locator(`[data-event-id="${eventId}"]`).waitFor();
  await waitForCount(buyer.locator('[data-event-id]'), 3, 'three upcoming events');
  const search = buyer.getByRole('searchbox', { name: 'Search events' });
  await search.fill('polka');
  await buyer.getByText('No events match “polka”.').waitFor();
  await search.fill('berlin');
  await buyer.waitForURL(`${base}/events?q=berlin`);
  await buyer.getByRole('list', { name: 'Events matching berlin' }).waitFor();
  await waitForCount(buyer.locator('[data-event-id]'), 2, 'two events match "berlin"');
  const row = buyer.locator(`[data-event-id="${eventId}"]`);
  await row.getByTestId('event-lowest-price').filter({ hasText: 'from $40.00' }).waitFor();
  await row.getByTestId('event-available-count').filter({ hasText: '2 on sale' }).waitFor();
  await shot(buyer, 'events');

  // The event page: cheapest first. A watcher has it open too.
  await signUp(watcher, base, 'watcher4@example.com');
  await watcher.goto(`${base}/events/${eventId}`);
  await row.getByRole('link', { name: 'Berlin Jazz Festival' }).click();
  await buyer.waitForURL(`${base}/events/${eventId}`);
  const listed = buyer.getByTestId('ticket-list').getByRole('link');
  await listed.first().waitFor();
  const titles = await listed.allTextContents();
  assert(JSON.stringify(titles) === JSON.stringify(['Balcony, seat 12', 'Front row, seat 1']), `cheapest first: ${titles}`);
  await buyer.getByTestId('event-lowest-price').filter({ hasText: 'from $40.00' }).waitFor();
  await shot(buyer, 'event');
  await watcher.getByTestId('event-available-count').filter({ hasText: '2 on sale' }).waitFor();
  await sleep(300); // the watcher's subscriptions are set up

  // The buyer reserves the cheapest; the watcher's counts and list follow, live.
  await listed.first().click();
  await buyer.waitForURL(`${base}/tickets/${balcony}`);
  await buyer.getByRole('button', { name: 'Buy for $40.00' }).click();
  await buyer.waitForURL(/\/orders\/[0-9a-f-]+$/);
  await buyer.getByTestId('countdown').waitFor();
  await watcher.getByTestId('event-live').filter({ hasText: '1 on sale · from $65.00' }).waitFor({ timeout: 5_000 });
  await watcher.locator(`[data-testid="ticket-list"] [data-ticket-id="${balcony}"]`).waitFor({ state: 'detached', timeout: 5_000 });

  // Two watch it: the watcher up to $50, a visitor on a phone, signed out, at any price.
  await watcher.getByLabel('Max price (USD)').fill('50');
  await watcher.getByRole('button', { name: 'Watch' }).click();
  await watcher.getByTestId('watching').filter({ hasText: 'at or under $50.00' }).waitFor();
  await phone.goto(`${base}/events/${eventId}`);
  await phone.getByTestId('event-live').filter({ hasText: '1 on sale' }).waitFor();
  await phone.getByRole('button', { name: 'Watch' }).click();
  await phone.getByTestId('watching').filter({ hasText: 'at any price' }).waitFor();
  await sleep(300);

  // The buyer changes their mind: the ticket frees up and both see it at once.
  await buyer.getByRole('button', { name: 'Cancel order' }).click();
  await buyer.getByTestId('order-status').locator('[data-status="CANCELLED"]').waitFor();
  const freed = watcher.locator(`[data-testid="just-available"] [data-ticket-id="${balcony}"]`);
  await freed.waitFor({ timeout: 5_000 });
  await phone.locator(`[data-testid="just-available"] [data-ticket-id="${balcony}"]`).getByRole('link', { name: 'Sign in to buy' }).waitFor({ timeout: 5_000 });
  await watcher.getByTestId('event-live').filter({ hasText: '2 on sale · from $40.00' }).waitFor({ timeout: 5_000 });
  await freed.scrollIntoViewIfNeeded();
  await shot(watcher, 'event-watch');

  // The watcher buys it from "Just available" and gets the order.
  await freed.getByRole('button', { name: 'Buy for $40.00' }).click();
  await watcher.waitForURL(/\/orders\/[0-9a-f-]+$/);
  await watcher.getByTestId('countdown').filter({ hasText: /left to pay/ }).waitFor();
  await watcher.getByText('Balcony, seat 12').first().waitFor();
  // …and the visitor's list says it is gone again.
  await phone.locator(`[data-testid="just-available"] [data-ticket-id="${balcony}"] [data-status="RESERVED"]`).waitFor({ timeout: 5_000 });

  await Promise.all([organizer, seller, buyer, watcher, phone].map((p) => p.context().close()));
}

/** The queue's place as the page shows it: its status and, while waiting after the draw, its position. */
async function placeOf(page) {
  const read = () => {
    const el = document.querySelector('[data-testid="queue-place"]');
    return el ? { status: el.getAttribute('data-status'), position: el.getAttribute('data-position') } : null;
  };
  const p = await page.evaluate(read).catch(() => null); // null too while navigating
  return { status: p?.status ?? null, position: p?.position ? Number(p.position) : null };
}

/**
 * Story 5: the on-sale queue. An organizer creates an event on sale 20 s ahead (the form refuses
 * an on-sale time after the start) and lists one ticket; six buyers queue through the API and two
 * in browsers, whose Buy is disabled and who join from the event page and see when the order is
 * drawn (coming back to the event page goes straight to the queue). At the draw the server lets
 * one in per second (QUEUE_ADMIT_PER_SECOND=1): the browser buyer whose turn comes first sees
 * "It's your turn" with its countdown and buys the ticket and pays; the other has waited with a
 * position, an estimated wait and a progress bar, and ends with the event sold out (its place
 * expired while waiting, or its short turn ended with nothing left).
 */
export async function storyQueue({ browser, server, admissionSeconds }) {
  const base = server.url;
  const organizer = await newPage(browser, { label: 'organizer' });
  const buyers = [await newPage(browser, { label: 'buyer A' }), await newPage(browser, { label: 'buyer B' })];
  // Accounts first: the sale opens 20 s after the event is created.
  await Promise.all([
    signUp(organizer, base, 'organizer5@example.com'),
    signUp(buyers[0], base, 'buyer5a@example.com'),
    signUp(buyers[1], base, 'buyer5b@example.com'),
  ]);
  const others = await Promise.all(
    [1, 2, 3, 4, 5, 6].map((i) => gql(server, `mutation { signUp(email: "queuer5-${i}@example.com", password: "${PASSWORD}") { token } }`)),
  );

  await organizer.goto(`${base}/events/new`);
  await organizer.getByLabel('Name').fill('Sold-out Arena Show');
  await organizer.getByLabel('Venue').fill('Mercedes-Benz Arena');
  await organizer.getByLabel('City').fill('Berlin');
  await organizer.getByLabel('Starts at').fill(localInput(30));
  await organizer.getByLabel('On sale at').fill(localInput(31));
  await organizer.getByRole('button', { name: 'Create event' }).click();
  await organizer.getByText('On sale at must be before the start').waitFor();
  const onSaleAt = Math.ceil((Date.now() + 20_000) / 1000) * 1000;
  await organizer.getByLabel('On sale at').fill(new Date(onSaleAt).toISOString().slice(0, 19)); // the context runs in UTC
  await organizer.getByRole('button', { name: 'Create event' }).click();
  await organizer.waitForURL(/\/events\/[0-9a-f-]+$/);
  const eventId = organizer.url().split('/').pop();
  await organizer.getByTestId('event-on-sale-at').waitFor();
  await organizer.getByRole('button', { name: 'Join the queue' }).waitFor(); // open: the sale is less than 30 minutes away

  await organizer.getByRole('link', { name: 'Sell a ticket for this event' }).click();
  await organizer.getByRole('group', { name: 'Event' }).filter({ hasText: 'Sold-out Arena Show' }).waitFor();
  await organizer.getByLabel('Title').fill('Floor, standing');
  await organizer.getByLabel('Price (USD)').fill('45');
  await organizer.getByRole('button', { name: 'List ticket' }).click();
  await organizer.waitForURL(/\/tickets\/[0-9a-f-]+$/);
  await Promise.all(others.map((o) => gql(server, 'mutation($e: ID!) { joinQueue(eventId: $e) { status } }', { e: eventId }, o.signUp.token)));

  // Both buyers see the ticket but may not buy it, join, and are told when the order is drawn.
  await Promise.all(
    buyers.map(async (b) => {
      await b.goto(`${base}/events/${eventId}`);
      const buy = b.getByTestId('ticket-list').getByRole('button', { name: 'Buy for $45.00' });
      await buy.waitFor();
      assert(await buy.isDisabled(), 'Buy is disabled without an admission');
      await b.getByRole('button', { name: 'Join the queue' }).click();
      await b.waitForURL(`${base}/events/${eventId}/queue`);
      await b.getByTestId('queue-draw').filter({ hasText: 'The order is drawn at' }).waitFor();
      await b.getByTestId('countdown').filter({ hasText: /\d:\d\d until the draw/ }).waitFor();
    }),
  );
  // Back on the event page: straight to the queue again.
  await buyers[1].goto(`${base}/events/${eventId}`);
  await buyers[1].waitForURL(`${base}/events/${eventId}/queue`);
  await buyers[1].getByTestId('queue-draw').waitFor();
  assert(Date.now() < onSaleAt - 1_000, `both buyers joined before the sale (${onSaleAt - Date.now()} ms left)`);

  // The draw. Eight places, let in one a second (a waiting place is pushed every 5 s or so). What each buyer's page shows is noted all along.
  const seen = [new Set(), new Set()];
  const label = (p) => (p.status === 'WAITING' && p.position ? 'position' : p.status);
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      for (const i of [0, 1]) seen[i].add(label(await placeOf(buyers[i])));
      await sleep(40);
    }
  })();
  /** The first buyer whose page shows `want`, by `deadline`. */
  const firstTo = async (want, deadline) => {
    for (;;) {
      for (const i of [0, 1]) if (label(await placeOf(buyers[i])) === want) return i;
      if (Date.now() > deadline) throw new Error(`assertion failed: no buyer shows ${want} (${[...seen[0]]} / ${[...seen[1]]})`);
      await sleep(30);
    }
  };
  // Both drawn (only one is let in at the draw, so at least one of them waits): the one further
  // back is shown.
  await firstTo('position', onSaleAt + 8_000);
  await sleep(200); // both pushes of the draw have arrived
  const places = [await placeOf(buyers[0]), await placeOf(buyers[1])];
  const w = (places[1].position ?? 0) > (places[0].position ?? 0) ? 1 : 0;
  await buyers[w].getByTestId('queue-eta').filter({ hasText: /Estimated wait: (about \d+ seconds?|any moment now)/ }).waitFor();
  await buyers[w].getByRole('progressbar', { name: 'Your progress in the queue' }).waitFor();
  await shot(buyers[w], 'queue-waiting');
  const first = await firstTo('ADMITTED', onSaleAt + 12_000);
  const [winner, other] = first === 0 ? buyers : [buyers[1], buyers[0]];
  const otherSeen = seen[1 - first];

  await winner.getByRole('heading', { name: 'It’s your turn' }).waitFor();
  await winner.getByTestId('countdown').filter({ hasText: /\d:\d\d left to buy/ }).waitFor();
  const buy = winner.getByTestId('ticket-list').getByRole('button', { name: 'Buy for $45.00' });
  assert(!(await buy.isDisabled()), 'Buy is enabled once admitted');
  await shot(winner, 'queue-admitted');
  await buy.click();
  await winner.waitForURL(/\/orders\/[0-9a-f-]+$/);
  await winner.getByTestId('countdown').filter({ hasText: /left to pay/ }).waitFor();
  await winner.getByRole('button', { name: /Visa that pays/ }).click();
  await winner.getByRole('button', { name: /^Pay / }).click();
  await winner.getByTestId('receipt').waitFor();

  // The other one waited with a position, and ends with nothing left to buy.
  const ended = other.getByTestId('queue-ended').filter({ hasText: 'Sold out' });
  await ended.waitFor({ timeout: (admissionSeconds + 10) * 1000 });
  watching = false;
  await watcher;
  assert(otherSeen.has('position'), `the other buyer saw its position before its turn (${[...otherSeen]})`);
  const admittedToo = otherSeen.has('ADMITTED');
  await other.getByRole('link', { name: 'Back to Sold-out Arena Show' }).click();
  await other.waitForURL(`${base}/events/${eventId}`);
  await other.getByTestId('queue-ended').filter({ hasText: 'Sold out' }).waitFor();
  await other.getByTestId('event-availability').filter({ hasText: 'Sold out' }).waitFor();

  await Promise.all([organizer, ...buyers].map((p) => p.context().close()));
  return `the other buyer ${admittedToo ? 'was admitted after the ticket was reserved, then its turn ended' : 'was still waiting when it sold out'}`;
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
