// Dashboard: system status tiles (GET /status every 5 s), live calls (WebSocket, see
// live.js), registrations (GET /registrations every 5 s) and today's calls-per-hour chart.
import { get } from '../api.js';
import { h, replace, fmtDuration, fmtBytes, fmtDateTime, tzOffsetMin, dataTable, emptyRow, errorBox, loadSvg } from '../ui.js';
import { LiveCalls } from '../live.js';

const POLL_MS = 5000;
const CHART_REFRESH_MS = 60000;

function tile(key, label) {
  const value = h('dd', { 'data-testid': `tile-${key}-value`, text: '…' });
  return { el: h('div', { class: 'tile', 'data-testid': `tile-${key}` }, h('dt', { text: label }), value), value };
}

function count(v) {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'object') return String(v.count ?? v.total ?? v.bindings ?? JSON.stringify(v));
  return String(v);
}

export default async function dashboard(main, ctx) {
  const tiles = {
    version: tile('version', 'Version'),
    uptime: tile('uptime', 'Uptime'),
    active: tile('active-calls', 'Active calls'),
    cps: tile('calls-per-second', 'Calls per second'),
    regs: tile('registrations', 'Registrations'),
    queue: tile('cdr-queue', 'CDR queue depth'),
    cdr: tile('cdr-state', 'CDR storage'),
    storage: tile('storage', 'Database size'),
  };
  const statusError = h('div', { 'data-testid': 'status-error' });
  const live = new LiveCalls({ admin: ctx.admin });
  const regs = dataTable('Registrations', ['Extension', 'Contact', 'User agent', 'Transport', 'Source', 'Expires in'], 'registrations');
  regs.tbody.append(emptyRow(6, 'Loading…'));
  const regsError = h('div');
  const chart = h('img', {
    class: 'chart', 'data-testid': 'chart-today', width: '800', height: '300',
    alt: 'Bar chart of calls per hour today, in this browser\'s time zone.',
  });
  const refreshChart = () => loadSvg(chart, `/api/v1/charts/today.svg?tz_offset_min=${tzOffsetMin()}`,
    'The calls-per-hour chart is not available.');
  refreshChart();

  replace(main,
    h('h1', { text: 'Dashboard' }),
    h('section', { 'aria-labelledby': 'h-status' },
      h('h2', { id: 'h-status', text: 'System status' }),
      statusError,
      h('dl', { class: 'tiles', 'data-testid': 'status-tiles' }, Object.values(tiles).map((t) => t.el))),
    h('section', { 'aria-labelledby': 'h-live' },
      h('h2', { id: 'h-live', text: 'Live calls' }), live.element),
    h('div', { class: 'grid-2' },
      h('section', { 'aria-labelledby': 'h-regs' },
        h('h2', { id: 'h-regs', text: 'Registrations' }), regsError, regs.wrap),
      h('section', { 'aria-labelledby': 'h-chart' },
        h('h2', { id: 'h-chart', text: 'Calls per hour today' }), h('figure', { class: 'chart-box' }, chart))));

  live.start();

  async function pollStatus() {
    if (document.hidden) return;
    try {
      const s = await get('/status');
      replace(statusError);
      tiles.version.value.textContent = s.version ?? '—';
      tiles.uptime.value.textContent = fmtDuration(s.uptime_secs);
      tiles.active.value.textContent = count(s.calls?.active);
      const cps = s.calls?.per_second;
      tiles.cps.value.textContent = cps === undefined || cps === null ? '—' : Number(cps).toFixed(2);
      tiles.regs.value.textContent = count(s.registrations);
      const cdr = s.cdr || {};
      tiles.queue.value.textContent = cdr.enabled ? String(cdr.backlog ?? '—') : 'off';
      tiles.cdr.value.textContent = !cdr.enabled ? 'disabled' : cdr.healthy ? 'healthy' : `degraded${cdr.degraded?.error ? ': ' + cdr.degraded.error : ''}`;
      tiles.cdr.el.classList.toggle('tile-bad', cdr.enabled && !cdr.healthy);
      const st = s.storage;
      tiles.storage.value.textContent = st
        ? [st.switchboard_db != null ? `switchboard.db ${fmtBytes(st.switchboard_db)}` : null,
          st.cdr_db != null ? `cdr.db ${fmtBytes(st.cdr_db)}` : null,
          st.free_bytes != null ? `${fmtBytes(st.free_bytes)} free` : null].filter(Boolean).join(' · ') || '—'
        : '—';
    } catch (e) {
      replace(statusError, errorBox(e, 'status-error-text'));
    }
  }

  let lastRegs = null;
  async function pollRegistrations() {
    if (document.hidden) return;
    try {
      const data = await get('/registrations');
      replace(regsError);
      const list = (data.registrations || []).slice().sort((a, b) => String(a.extension).localeCompare(String(b.extension)));
      const key = JSON.stringify(list.map((r) => [r.extension, r.contact, r.user_agent, r.transport, r.source, r.expires_ms]));
      if (key === lastRegs) { updateExpiry(list); return; }
      lastRegs = key;
      replace(regs.tbody, list.length ? list.map((r) => h('tr', { 'data-extension': r.extension, 'data-testid': 'registration-row' },
        h('th', { scope: 'row', text: r.extension }),
        h('td', { class: 'wrap', text: r.contact || '' }),
        h('td', { text: r.user_agent || '' }),
        h('td', { text: r.transport || '' }),
        h('td', { text: r.source || '' }),
        h('td', { class: 'num expires', title: r.expires_ms ? fmtDateTime(r.expires_ms) : '', text: expiresIn(r) }))) : emptyRow(6, 'No registered phones.'));
    } catch (e) {
      replace(regsError, errorBox(e, 'registrations-error'));
    }
  }
  function expiresIn(r) {
    const secs = r.expires_ms ? (r.expires_ms - Date.now()) / 1000 : r.expires_in_s;
    return secs === undefined || secs === null ? '' : fmtDuration(Math.max(0, secs));
  }
  function updateExpiry(list) {
    const cells = regs.tbody.querySelectorAll('.expires');
    list.forEach((r, i) => { if (cells[i]) cells[i].textContent = expiresIn(r); });
  }

  pollStatus();
  pollRegistrations();
  const timers = [
    setInterval(pollStatus, POLL_MS),
    setInterval(pollRegistrations, POLL_MS),
    setInterval(() => { if (!document.hidden) refreshChart(); }, CHART_REFRESH_MS),
  ];
  return () => {
    if (chart.dataset.blob) URL.revokeObjectURL(chart.dataset.blob);
    live.stop();
    timers.forEach(clearInterval);
  };
}
