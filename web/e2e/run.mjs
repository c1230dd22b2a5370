// End-to-end run: builds the UI if needed, starts real API servers (API_BIN, default
// /tmp/snap/api) on free loopback ports with fresh SQLite databases, and drives Chromium through
// the stories. Prints one line per story and a closing "N passed, N failed".
//   API_BIN=…/debug/api npm run e2e
//   E2E_ONLY=expiry npm run e2e      (a story whose name contains the word)
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { API_BIN, CHROMIUM, CHROMIUM_ARGS, TMP, WEB_ROOT, startServer } from './lib.mjs';
import { storyBuyAndPay, storyEvents, storyExpiry, storyGraphiql, storyQueue, storyReconnect } from './stories.mjs';

const EXPIRY_TTL = Number(process.env.E2E_ORDER_TTL_SECONDS || 8);
// The on-sale queue's server lets one buyer in per second, each for a short turn.
const QUEUE = { QUEUE_ADMIT_PER_SECOND: '1', QUEUE_ADMISSION_SECONDS: process.env.E2E_QUEUE_ADMISSION_SECONDS || '15' };
const started = Date.now();
execFileSync('bash', [join(WEB_ROOT, 'scripts', 'ensure-built.sh')], { stdio: 'inherit' });
console.log(`e2e: API_BIN=${API_BIN}, Chromium ${CHROMIUM}, scratch ${TMP}`);

const servers = [];
let browser;
let passed = 0;
let failed = 0;
try {
  const [main, short, queue] = await Promise.all([
    startServer('main', { ttlSeconds: 900 }),
    startServer('short-ttl', { ttlSeconds: EXPIRY_TTL }),
    startServer('queue', { ttlSeconds: 900, env: QUEUE }),
  ]);
  servers.push(main, short, queue);
  console.log(
    `e2e: servers up on :${main.port} (TTL 900 s), :${short.port} (TTL ${EXPIRY_TTL} s) and :${queue.port} (queue: ${QUEUE.QUEUE_ADMIT_PER_SECOND} a second, ${QUEUE.QUEUE_ADMISSION_SECONDS} s turns)`,
  );
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });

  const stories = [
    ['story 1: list, live listing, buy, reserved live, pay, receipt, sold everywhere', () => storyBuyAndPay({ browser, server: main })],
    ['story 4: events: create, list for one, search, cheapest first, live counts, watch, a cancelled order frees the ticket and the watcher buys it', () => storyEvents({ browser, server: main })],
    [
      `story 5: the on-sale queue: an event on sale in 20 s, two buyers queue before it, one is let in (${QUEUE.QUEUE_ADMIT_PER_SECOND} a second) and buys, the other waits its turn and sees it sold out`,
      () => storyQueue({ browser, server: queue, admissionSeconds: Number(QUEUE.QUEUE_ADMISSION_SECONDS) }),
    ],
    ['graphiql: bundled page at /graphql runs a query as the signed-in user', () => storyGraphiql({ browser, server: main })],
    [`story 2: the order expires (ORDER_TTL_SECONDS=${EXPIRY_TTL}) and the ticket is on sale again`, () => storyExpiry({ browser, server: short, ttlSeconds: EXPIRY_TTL })],
    ['reconnect: a lost WebSocket reconnects and refetches what it missed', () => storyReconnect({ browser, server: short })],
  ].filter(([name]) => !process.env.E2E_ONLY || name.includes(process.env.E2E_ONLY));

  for (const [name, run] of stories) {
    const t0 = Date.now();
    try {
      const note = await run();
      passed += 1;
      console.log(`✓ ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)${note ? ` — ${note}` : ''}`);
    } catch (e) {
      failed += 1;
      console.log(`✗ ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n  ${String(e?.stack ?? e).split('\n').slice(0, 6).join('\n  ')}`);
    }
  }
} catch (e) {
  failed += 1;
  console.log(`✗ setup: ${e?.stack ?? e}`);
} finally {
  await browser?.close().catch(() => {});
  await Promise.all(servers.map((s) => s.stop().catch(() => {})));
  if (failed === 0) rmSync(TMP, { recursive: true, force: true });
  else console.log(`e2e: server logs kept in ${TMP}`);
}
console.log(`e2e took ${((Date.now() - started) / 1000).toFixed(1)} s`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
