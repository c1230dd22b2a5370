// Helpers of the end-to-end run: a real API server on loopback (the binary from API_BIN, a free
// port, a fresh SQLite database in a temporary folder, WEB_DIR = web/dist) and Chromium driven by
// playwright-core (the system's /usr/bin/chromium; no browser download).
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { createWriteStream, existsSync, mkdtempSync, mkdirSync, accessSync, constants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

export const WEB_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const SCREENSHOTS = join(WEB_ROOT, 'e2e', 'screenshots');
export const API_BIN = process.env.API_BIN || '/tmp/snap/api';
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const TMP = mkdtempSync(join(tmpdir(), 'tickets-e2e-'));
mkdirSync(SCREENSHOTS, { recursive: true });

export function freePort() {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export { sleep };

/**
 * Starts the API server and waits for GET /healthz. `name` names its database and log file;
 * restart() stops and starts it again on the same port, database and JWT secret (sessions survive).
 * `env` adds settings (e.g. the queue's QUEUE_ADMIT_PER_SECOND).
 */
export async function startServer(name, { ttlSeconds = 900, port, env: extra = {} } = {}) {
  accessSync(API_BIN, constants.X_OK);
  const webDir = join(WEB_ROOT, 'dist');
  if (!existsSync(join(webDir, 'index.html'))) throw new Error(`${webDir}/index.html is missing: build first`);
  port ??= await freePort();
  const env = {
    ...process.env,
    HOST: '127.0.0.1',
    PORT: String(port),
    DATABASE_URL: `sqlite://${join(TMP, `${name}.db`)}?mode=rwc`,
    WEB_DIR: webDir,
    ORDER_TTL_SECONDS: String(ttlSeconds),
    JWT_SECRET: randomBytes(32).toString('hex'),
    RUST_LOG: process.env.E2E_RUST_LOG || 'warn',
    ...extra,
  };
  for (const k of ['REDIS_URL', 'STRIPE_SECRET_KEY', 'STRIPE_PUBLISHABLE_KEY', 'STRIPE_API_BASE']) delete env[k];
  const logPath = join(TMP, `${name}.log`);
  const log = createWriteStream(logPath, { flags: 'a' });
  const server = { name, port, url: `http://127.0.0.1:${port}`, logPath, child: null };

  async function start() {
    const child = spawn(API_BIN, [], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    let exited = null;
    child.on('exit', (code, sig) => (exited = { code, sig }));
    server.child = child;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (exited) throw new Error(`server ${name} exited (${JSON.stringify(exited)}); log: ${logPath}`);
      try {
        const r = await fetch(`${server.url}/healthz`);
        if (r.status === 200) return;
      } catch {
        /* not yet listening */
      }
      await sleep(100);
    }
    throw new Error(`server ${name} did not answer /healthz within 60 s; log: ${logPath}`);
  }

  server.stop = async () => {
    const child = server.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const done = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await done;
    clearTimeout(t);
  };
  server.restart = async () => {
    await server.stop();
    await start();
  };
  await start();
  return server;
}

/** One GraphQL request as a plain client (used for setup steps that are not under test). */
export async function gql(server, query, variables = {}, token) {
  const r = await fetch(`${server.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = await r.json();
  if (body.errors) throw new Error(`GraphQL error: ${JSON.stringify(body.errors)}`);
  return body.data;
}

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

export function assert(cond, message) {
  if (!cond) throw new Error(`assertion failed: ${message}`);
}
