// End-to-end test of the switchboard web admin in headless Chromium (playwright-core),
// against the real binary started by tests/web_e2e.rs with the test PBX configuration.
//
// The scenario of issue 6: log in; create extension 1500 in the Extensions form; SIPp
// registers as 1500 with the password the page showed and the registration appears on the
// dashboard; a SIPp call appears on the live dashboard and disappears when it hangs up; a
// second call is hung up with the dashboard's button; the call's CDR appears in the CDR
// view, its detail page shows its legs; the CSV export downloads and holds the call;
// breaking the dialplan in the editor shows the error line and saving is refused (the
// file stays as it was); a viewer account cannot save the dialplan. With E2E_SCREENSHOTS
// set, the main pages are saved there as PNG (1280×800, and the dashboard at 390×844).
//
// Environment (all set by tests/web_e2e.rs):
//   E2E_BASE_URL         http://127.0.0.1:18080
//   E2E_ADMIN_PASSWORD   the first-start password of account "admin"
//   E2E_CHROMIUM         the Chromium executable (Debian package `chromium`)
//   E2E_SIPP             the sipp executable
//   E2E_SIPP_DIR         tests/sipp (scenario files)
//   E2E_PBX_SIP          127.0.0.1:15060
//   E2E_PORTS            free local ports for SIPp, comma-separated (at least 6)
//   E2E_ARTIFACTS        directory for failure screenshots and SIPp traces
//   E2E_SCREENSHOTS      (optional) directory for the documentation screenshots
//
// Exit status 0 when every step passed; otherwise 1, naming the step, with a screenshot
// of the page in E2E_ARTIFACTS.

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`environment variable ${name} is not set (run through tests/web_e2e.rs)`);
  return v;
};
const BASE = env('E2E_BASE_URL');
const ADMIN_PASSWORD = env('E2E_ADMIN_PASSWORD');
const CHROMIUM = env('E2E_CHROMIUM');
const SIPP = env('E2E_SIPP');
const SIPP_DIR = env('E2E_SIPP_DIR');
const PBX_SIP = env('E2E_PBX_SIP');
const PORTS = env('E2E_PORTS').split(',').map(Number);
const ARTIFACTS = env('E2E_ARTIFACTS');
const SHOTS = process.env.E2E_SCREENSHOTS || '';

/** How long one UI expectation may take (live updates, polling pages, a debug build). */
const WAIT_MS = 15_000;
/** How long the first SIPp call stays up (the browser looks at it meanwhile). */
const CALL_UP_MS = 8_000;
/** Extension created through the UI (outside the copied config's extension range). */
const EXT = '1500';
const VIEWER = { name: 'e2e-viewer', password: 'e2e-viewer-password-1' };
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

const testid = (id) => `[data-testid="${id}"]`;
const pageErrors = [];
/** Every API call the pages made: "METHOD /api/v1/...", checked against the OpenAPI document. */
const apiCalls = new Set();
let currentStep = '(start)';

/** Runs one named step; the log shows how far the test got. */
async function step(name, fn) {
  currentStep = name;
  const started = Date.now();
  process.stdout.write(`▶ ${name}\n`);
  const result = await fn();
  process.stdout.write(`  ✓ ${name} (${Date.now() - started} ms)\n`);
  return result;
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

/** Saves a documentation screenshot when E2E_SCREENSHOTS is set. */
async function shot(page, name) {
  if (!SHOTS) return;
  // No stale toast from an earlier step in the picture (toasts hide after 5 s).
  await page.locator(testid('toast')).waitFor({ state: 'hidden', timeout: 8_000 }).catch(() => {});
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
  process.stdout.write(`  📷 ${name}.png\n`);
}

/** A SIPp run against the PBX from a port of E2E_PORTS; resolves with its exit code. */
let nextPort = 0;
function sipp(scenario, args) {
  check(nextPort + 1 < PORTS.length, 'E2E_PORTS has too few ports');
  const [port, mediaPort] = [PORTS[nextPort], PORTS[nextPort + 1]];
  nextPort += 2;
  const traces = mkdtempSync(join(ARTIFACTS, `sipp-${scenario.replace(/\.xml$/, '')}-`));
  const argv = [
    PBX_SIP, '-sf', join(SIPP_DIR, scenario), '-i', '127.0.0.1', '-p', String(port),
    '-mp', String(mediaPort), '-m', '1', '-timeout', '40s', '-timeout_error', '-nostdin',
    '-default_behaviors', 'all,-bye', '-trace_err', '-error_file', join(traces, 'errors.log'),
    '-trace_msg', '-message_file', join(traces, 'messages.log'), ...args,
  ];
  const child = spawn(SIPP, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const done = new Promise((resolve, reject) => {
    child.on('error', (e) => reject(new Error(`cannot run ${SIPP}: ${e.message}`)));
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  return {
    /** Waits for SIPp; throws with its error trace unless it exited 0. */
    async success() {
      const { code, signal } = await done;
      if (code !== 0) {
        let errors = '';
        try { errors = readFileSync(join(traces, 'errors.log'), 'utf8'); } catch { /* none */ }
        throw new Error(`sipp ${scenario} exited with ${code ?? signal}\n${stderr}\n${errors}\n(traces in ${traces})`);
      }
    },
    kill() { child.kill('SIGKILL'); },
  };
}

/** Minimal RFC 4180 CSV parser: rows of fields (quotes, doubled quotes, CRLF). */
function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field); rows.push(row); row = []; field = '';
    } else field += c;
  }
  if (field !== '' || row.length) { row.push(field); rows.push(row); }
  return rows;
}

/** Calls the JSON API from the page's session (cookie + CSRF token), like the UI does. */
async function api(page, method, path, body) {
  return page.evaluate(async ({ method, path, body }) => {
    const me = await fetch('/api/v1/me').then((r) => r.json());
    const r = await fetch(`/api/v1${path}`, {
      method,
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token || '' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* not JSON */ }
    return { status: r.status, json, text };
  }, { method, path, body });
}

async function newPage(browser, viewport = DESKTOP) {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  context.setDefaultTimeout(WAIT_MS);
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(`${page.url()}: ${e.message}`));
  const record = (method, url) => {
    const { pathname } = new URL(url);
    if (pathname.startsWith('/api/v1/')) apiCalls.add(`${method} ${pathname}`);
  };
  page.on('request', (r) => record(r.method(), r.url()));
  page.on('websocket', (ws) => record('GET', ws.url()));
  return page;
}

async function login(page, name, password) {
  await page.goto(`${BASE}/ui/`);
  await page.waitForURL(/\/login/);
  await page.fill(testid('login-name'), name);
  await page.fill(testid('login-password'), password);
  await page.click(testid('login-submit'));
  await page.waitForURL(/\/ui\//);
  // Attached, not visible: on a phone the user box sits in the collapsed menu.
  await page.locator(testid('user-name')).filter({ hasText: name }).waitFor({ state: 'attached' });
}

async function nav(page, name) {
  await page.click(testid(`nav-${name}`));
  await page.locator(`${testid(`nav-${name}`)}[aria-current="page"]`).waitFor();
}

/** Clicks the confirm dialog's OK if the action asks for confirmation. */
async function confirmIfAsked(page) {
  const ok = page.locator(testid('confirm-ok'));
  try {
    await ok.waitFor({ state: 'visible', timeout: 2_000 });
  } catch {
    return;
  }
  await ok.click();
}

async function main() {
  mkdirSync(ARTIFACTS, { recursive: true });
  if (SHOTS) mkdirSync(SHOTS, { recursive: true });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Playwright starts Chromium with a fresh temporary --user-data-dir.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = await newPage(browser);
  try {
    await scenario(browser, page);
  } catch (e) {
    const file = join(ARTIFACTS, 'failure.png');
    await page.screenshot({ path: file, fullPage: true }).catch(() => {});
    throw new Error(`step "${currentStep}" failed at ${page.url()}: ${e.stack || e}\n(screenshot: ${file})`);
  } finally {
    await browser.close();
  }
  check(pageErrors.length === 0, `uncaught errors in the pages:\n${pageErrors.join('\n')}`);
}

async function scenario(browser, page) {
  await step('an anonymous visitor is sent to the login page', async () => {
    const r = await page.request.get(`${BASE}/api/v1/status`);
    check(r.status() === 401, `GET /api/v1/status without login answered ${r.status()}`);
  });
  await step('admin logs in', () => login(page, 'admin', ADMIN_PASSWORD));

  const password = await step(`create extension ${EXT} in the form`, async () => {
    await nav(page, 'extensions');
    await page.fill(testid('ext-number'), EXT);
    await page.fill(testid('ext-display-name'), 'E2E Phone');
    await page.click(testid('ext-create'));
    const secret = (await page.locator(testid('ext-secret')).textContent()).trim();
    check(secret.length >= 12, `the generated password looks wrong: "${secret}"`);
    await page.locator(`${testid('extension-row')}[data-extension="${EXT}"]`).waitFor();
    await shot(page, 'extensions');
    return secret;
  });

  await step(`SIPp registers as ${EXT} and the dashboard lists it`, async () => {
    await sipp('e2e_register_1500.xml', ['-s', EXT, '-au', EXT, '-ap', password,
      '-auth_uri', 'switchboard.test']).success();
    await nav(page, 'dashboard');
    await page.locator(`${testid('registration-row')}[data-extension="${EXT}"]`)
      .filter({ hasText: 'switchboard-e2e-phone' }).waitFor();
  });

  const callArgs = ['-s', '*43', '-key', 'caller', EXT, '-au', EXT, '-ap', password,
    '-auth_uri', '*43@switchboard.test'];
  await step('a call appears on the live dashboard and goes away at hang-up', async () => {
    const call = sipp('e2e_call_1500.xml', [...callArgs, '-d', String(CALL_UP_MS)]);
    try {
      const row = page.locator(testid('live-call-row')).filter({ hasText: EXT });
      await row.waitFor();
      await page.locator(`${testid('live-call-row')}[data-state="up"]`).filter({ hasText: EXT }).waitFor();
      const text = await row.textContent();
      check(text.includes('*43'), `the live row does not show the dialed number: ${text}`);
      // The status tiles (polled every 5 s) count it too.
      await page.locator(testid('tile-active-calls-value')).filter({ hasText: /^\s*1\s*$/ })
        .waitFor({ timeout: CALL_UP_MS - 1_000 });
      await shot(page, 'dashboard');
      await row.waitFor({ state: 'detached', timeout: CALL_UP_MS + WAIT_MS });
      await call.success();
    } finally {
      call.kill();
    }
  });

  await step('the admin hangs a call up from the dashboard', async () => {
    const call = sipp('e2e_call_hangup_1500.xml', callArgs);
    try {
      const row = page.locator(`${testid('live-call-row')}[data-state="up"]`).filter({ hasText: EXT });
      await row.waitFor();
      await row.locator(testid('hangup')).click();
      await confirmIfAsked(page);
      await row.waitFor({ state: 'detached' });
      await call.success(); // SIPp got the PBX's BYE and answered it
    } finally {
      call.kill();
    }
  });

  await step('phone-size dashboard', async () => {
    if (!SHOTS) return;
    const phone = await newPage(browser, PHONE);
    await login(phone, 'admin', ADMIN_PASSWORD);
    await phone.locator(testid('status-tiles')).waitFor();
    await shot(phone, 'dashboard-phone');
    await phone.context().close();
  });

  const linkedid = await step('the call shows in the CDR view', async () => {
    await nav(page, 'cdr');
    const row = page.locator(testid('cdr-row')).filter({ hasText: EXT }).filter({ hasText: '*43' }).first();
    // Records are written a moment after the hang-up: reload the view until they are there.
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      try {
        await row.waitFor({ timeout: 2_000 });
        break;
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await page.reload();
      }
    }
    await shot(page, 'cdr');
    const id = await row.getAttribute('data-linkedid');
    check(id, 'the CDR row has no data-linkedid');
    return id;
  });

  await step('the CSV export holds the call', async () => {
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.click(testid('cdr-csv')),
    ]);
    const text = readFileSync(await download.path(), 'utf8');
    const rows = parseCsv(text);
    check(rows.length >= 2, `the CSV has no data rows:\n${text.slice(0, 500)}`);
    const header = rows[0];
    check(header.includes('linkedid'), `no linkedid column in ${header.join(',')}`);
    const col = header.indexOf('linkedid');
    const ours = rows.slice(1).filter((r) => r[col] === linkedid);
    check(ours.length > 0, `no CSV row with linkedid ${linkedid}`);
    check(ours.some((r) => r.includes(EXT)) && ours.some((r) => r.includes('*43')),
      `the CSV rows of ${linkedid} do not name ${EXT} and *43: ${JSON.stringify(ours)}`);
  });

  await step('the call detail page shows its legs', async () => {
    await page.locator(`${testid('cdr-row')}[data-linkedid="${linkedid}"]`).first()
      .locator(testid('cdr-row-link')).click();
    await page.waitForURL(new RegExp(`/ui/cdr/call/${encodeURIComponent(linkedid)}`));
    await page.locator(testid('call-linkedid')).filter({ hasText: linkedid }).waitFor();
    await page.locator(testid('call-leg-row')).filter({ hasText: EXT }).first().waitFor();
    await page.locator(testid('call-bridges')).waitFor();
    await page.locator(`${testid('call-cel-event')}[data-event="CHAN_START"]`).first().waitFor();
    await shot(page, 'call-detail');
  });

  const original = await step('a broken dialplan shows the error line and is not saved', async () => {
    await nav(page, 'dialplan');
    await page.click(`${testid('dialplan-file')}[data-file="extensions.conf"]`);
    const editor = page.locator(testid('dialplan-editor'));
    await page.waitForFunction((sel) => document.querySelector(sel)?.value.includes('[internal]'),
      testid('dialplan-editor'));
    const before = await editor.inputValue();
    const bad = 'exten => _1[2,1,NoOp';
    const broken = `${before.replace(/\n*$/, '\n')}\n[e2e-broken]\n${bad}\n`;
    const line = broken.split('\n').indexOf(bad) + 1;
    await editor.fill(broken);
    await page.click(testid('dialplan-validate'));
    const error = page.locator(`${testid('dialplan-error')}[data-line="${line}"]`);
    await error.waitFor();
    await error.click(); // jumps the editor's cursor to the line
    await page.locator(testid('dialplan-cursor')).filter({ hasText: `Line ${line},` }).waitFor();
    await error.scrollIntoViewIfNeeded();
    await shot(page, 'dialplan');
    await page.click(testid('dialplan-save'));
    await confirmIfAsked(page);
    await page.locator(testid('dialplan-rejected')).waitFor();
    const stored = await api(page, 'GET', '/dialplan/files/extensions.conf');
    check(stored.status === 200, `GET the dialplan file: ${stored.status} ${stored.text}`);
    check(stored.json.content === before, 'the rejected dialplan was written');
    return before;
  });

  await step('a viewer cannot save the dialplan', async () => {
    await nav(page, 'admin');
    await page.fill(testid('account-name'), VIEWER.name);
    await page.fill(testid('account-password'), VIEWER.password);
    await page.selectOption(testid('account-role'), 'viewer');
    await page.click(testid('account-create'));
    await page.locator(`${testid('account-row')}[data-account="${VIEWER.name}"]`)
      .filter({ hasText: 'viewer' }).waitFor();
    await shot(page, 'accounts');
    const viewer = await newPage(browser);
    await login(viewer, VIEWER.name, VIEWER.password);
    await nav(viewer, 'dialplan');
    await viewer.locator(testid('viewer-note')).waitFor();
    await viewer.click(`${testid('dialplan-file')}[data-file="extensions.conf"]`);
    const save = viewer.locator(testid('dialplan-save'));
    if (await save.count() > 0 && await save.isEnabled()) {
      await viewer.locator(testid('dialplan-editor')).fill(`${original}\n; viewer edit\n`);
      await save.click();
      await viewer.locator(`${testid('dialplan-rejected')}, ${testid('error')}, [role="alert"]`).first().waitFor();
    }
    // The API refuses it too, whatever the page shows.
    const put = await api(viewer, 'PUT', '/dialplan/files/extensions.conf', { content: `${original}\n; viewer\n` });
    check(put.status === 403, `a viewer's PUT of the dialplan answered ${put.status}: ${put.text}`);
    const stored = await api(page, 'GET', '/dialplan/files/extensions.conf');
    check(stored.json.content === original, 'the viewer changed the dialplan');
    await viewer.context().close();
  });

  await step('gateways and reports pages render', async () => {
    await nav(page, 'gateways');
    await page.locator(testid('gateway-row')).filter({ hasText: 'carrier' }).waitFor();
    await shot(page, 'gateways');
    await nav(page, 'reports');
    await page.locator(testid('report-chart')).first().waitFor();
    await shot(page, 'reports');
  });

  await step('every API call the pages made is in the OpenAPI document', async () => {
    const doc = await page.evaluate(() => fetch('/api/v1/openapi.json').then((r) => r.json()));
    check(doc.openapi === '3.1.0', `openapi.json says ${doc.openapi}`);
    const templates = Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item)
      .map((m) => ({ method: m.toUpperCase(), re: new RegExp(`^${path.replace(/\./g, '\\.').replace(/\{[^}]+\}/g, '[^/]+')}$`) })));
    const missing = [...apiCalls].filter((call) => {
      const [method, path] = call.split(' ');
      return !templates.some((t) => t.method === method && t.re.test(path));
    });
    check(apiCalls.size >= 10, `too few API calls recorded: ${[...apiCalls].join(', ')}`);
    check(missing.length === 0, `API calls of the pages missing from openapi.json: ${missing.join(', ')}`);
    process.stdout.write(`  ${apiCalls.size} distinct API calls, all documented\n`);
  });
}

main().then(
  () => { process.stdout.write('all end-to-end steps passed\n'); },
  (e) => { process.stderr.write(`${e.message || e}\n`); process.exitCode = 1; },
);
