// Dashboard responsiveness in a real browser while the PBX holds many changing live calls.
//
//   node benches/dashboard_browser.mjs                       # 1000 calls, 30 s window
//   LIVE_CALLS=200 WINDOW_SECS=15 node benches/dashboard_browser.mjs
//   SWITCHBOARD_BIN=target/release/switchboard node benches/dashboard_browser.mjs
//   ATTACH=http://127.0.0.1:63088 BENCH_USER=bench BENCH_PASSWORD=... node benches/dashboard_browser.mjs
//                                                            # measure a PBX already under load
//
// Without ATTACH it runs benches/dashboard_load.sh (helper script: a private test PBX, SIPp
// calls that ring 2 s, stay up 18 s and hang up, so about LIVE_CALLS are live and 3 × rate
// change every second), with MEASURE_SECS short and EXTRA_SECS long enough for this window;
// it waits for the script's own phases to end ("load kept up") so the browser does not
// disturb them, then opens /ui/ in headless Chromium (Debian `chromium`, playwright-core
// from tests/e2e: `npm ci --prefix tests/e2e`) and measures for WINDOW_SECS:
//   - long tasks (PerformanceObserver 'longtask', > 50 ms main-thread blocks): count, total,
//     longest;
//   - delta to screen: from a WebSocket message's arrival to the first paint after the page
//     handled it (rAF, then a MessageChannel turn), p50 / p95 / max;
//   - frame rate (requestAnimationFrame callbacks per second);
//   - live rows shown, WebSocket messages per second;
//   - filter latency: typing into the live-call filter until the next paint.
// Prints a block for docs/performance.md. Only processes this script started are stopped.

import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'tests/e2e/package.json'));
let chromium;
try {
  ({ chromium } = require('playwright-core'));
} catch {
  console.error('playwright-core is not installed: npm ci --prefix tests/e2e');
  process.exit(1);
}

const LIVE_CALLS = Number(process.env.LIVE_CALLS || 1000);
const WINDOW_SECS = Number(process.env.WINDOW_SECS || 30);
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
/** How long the load script may take to print READY and finish its phases. */
const LOAD_START_TIMEOUT_MS = 10 * 60_000;

/** Runs dashboard_load.sh; resolves {web, user, password, stop} once its phases are over. */
function startLoad() {
  const env = {
    ...process.env,
    LIVE_CALLS: String(LIVE_CALLS),
    MEASURE_SECS: process.env.MEASURE_SECS || '10',
    EXTRA_SECS: String(WINDOW_SECS + 60),
  };
  // Its own process group: stopping it stops the SIPp and PBX it started (it traps EXIT).
  const child = spawn('bash', [join(root, 'benches/dashboard_load.sh')], {
    cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'], detached: true,
  });
  let ready = null;
  let buffer = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('dashboard_load.sh did not get ready in time')),
      LOAD_START_TIMEOUT_MS);
    child.on('exit', (code) => reject(new Error(`dashboard_load.sh exited early (${code})`)));
    child.stdout.on('data', (chunk) => {
      buffer += chunk;
      let nl;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        process.stdout.write(`  load | ${line}\n`);
        const m = line.match(/^READY web=(\S+) user=(\S+) password=(\S+)/);
        if (m) ready = { web: m[1], user: m[2], password: m[3] };
        if (line.startsWith('== load kept up') && ready) {
          clearTimeout(timer);
          resolve({
            ...ready,
            stop() {
              try { process.kill(-child.pid, 'SIGTERM'); } catch { /* already gone */ }
            },
          });
        }
      }
    });
  });
}

/** Injected before the page's own scripts: the probes. */
function probes() {
  const b = { longtasks: [], frames: 0, deltas: [], messages: 0, measuring: false };
  window.__bench = b;
  new PerformanceObserver((list) => {
    if (!b.measuring) return;
    for (const e of list.getEntries()) b.longtasks.push(e.duration);
  }).observe({ type: 'longtask', buffered: false });
  const afterPaint = (fn) => requestAnimationFrame(() => {
    const ch = new MessageChannel();
    ch.port1.onmessage = fn;
    ch.port2.postMessage(0);
  });
  const frame = () => { if (b.measuring) b.frames++; requestAnimationFrame(frame); };
  requestAnimationFrame(frame);
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      // Registered before the page's handler: runs first, in the same task.
      this.addEventListener('message', (ev) => {
        if (!b.measuring) return;
        const t0 = performance.now();
        b.messages++;
        const kind = typeof ev.data === 'string' && ev.data.slice(0, 24).includes('"delta"') ? 'delta' : 'other';
        afterPaint(() => b.deltas.push({ kind, ms: performance.now() - t0 }));
      });
    }
  };
}

const pct = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : NaN);
const f1 = (n) => (Number.isFinite(n) ? n.toFixed(1) : 'n/a');

async function measure({ web, user, password }) {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.addInitScript(probes);
    const page = await context.newPage();
    page.setDefaultTimeout(30_000);
    await page.goto(`${web}/login`);
    await page.fill('[data-testid="login-name"]', user);
    await page.fill('[data-testid="login-password"]', password);
    await page.click('[data-testid="login-submit"]');
    await page.waitForURL(/\/ui\//);
    const loadStart = Date.now();
    await page.locator('[data-testid="live-call-row"]').first().waitFor();
    const firstRowsMs = Date.now() - loadStart;
    await page.evaluate(() => { window.__bench.measuring = true; });
    await page.waitForTimeout(WINDOW_SECS * 1000);
    const filterMs = await page.evaluate(() => new Promise((resolve) => {
      const input = document.querySelector('[data-testid="live-filter"]');
      const t0 = performance.now();
      input.value = '1000';
      input.dispatchEvent(new Event('input', { bubbles: true }));
      requestAnimationFrame(() => {
        const ch = new MessageChannel();
        ch.port1.onmessage = () => resolve(performance.now() - t0);
        ch.port2.postMessage(0);
      });
    }));
    const b = await page.evaluate(() => {
      window.__bench.measuring = false;
      return window.__bench;
    });
    const rows = await page.locator('[data-testid="live-call-row"]').count();
    const deltas = b.deltas.filter((d) => d.kind === 'delta').map((d) => d.ms).sort((x, y) => x - y);
    const long = b.longtasks.slice().sort((x, y) => x - y);
    return {
      firstRowsMs, rows, filterMs,
      messagesPerSec: b.messages / WINDOW_SECS,
      fps: b.frames / WINDOW_SECS,
      deltas: { n: deltas.length, p50: pct(deltas, 0.5), p95: pct(deltas, 0.95), max: deltas.at(-1) },
      longtasks: { n: long.length, totalMs: long.reduce((s, x) => s + x, 0), max: long.at(-1) ?? 0 },
    };
  } finally {
    await browser.close();
  }
}

async function main() {
  const attach = process.env.ATTACH;
  const load = attach
    ? { web: attach, user: process.env.BENCH_USER || 'admin', password: process.env.BENCH_PASSWORD || '', stop() {} }
    : await startLoad();
  let r;
  try {
    r = await measure(load);
  } finally {
    load.stop();
  }
  const cmd = attach ? 'ATTACH=... node benches/dashboard_browser.mjs'
    : `LIVE_CALLS=${LIVE_CALLS} WINDOW_SECS=${WINDOW_SECS} node benches/dashboard_browser.mjs`;
  console.log(`
== dashboard in Chromium under load — ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC
   command: ${cmd}
   live calls shown: ${r.rows} (first rows ${r.firstRowsMs} ms after login)
   WebSocket messages: ${f1(r.messagesPerSec)}/s; frames: ${f1(r.fps)}/s
   delta → screen: p50 ${f1(r.deltas.p50)} ms, p95 ${f1(r.deltas.p95)} ms, max ${f1(r.deltas.max)} ms (${r.deltas.n} deltas)
   long tasks: ${r.longtasks.n} in ${WINDOW_SECS} s, ${f1(r.longtasks.totalMs)} ms in all, longest ${f1(r.longtasks.max)} ms
   filter typed → screen: ${f1(r.filterMs)} ms`);
}

main().catch((e) => { console.error(e.stack || e); process.exitCode = 1; });
