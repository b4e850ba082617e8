// The live-calls table of the dashboard, fed by the WebSocket /api/v1/calls/live:
// a snapshot, then deltas ({upsert: [Call], remove: [id]}).
//
// Built to stay responsive with thousands of calls:
// - the model is a Map id → Call; messages only update the map and schedule a render;
// - renders are coalesced with requestAnimationFrame (at most one per frame);
// - at most MAX_ROWS rows are in the DOM (newest first, after the filter), each keyed by
//   call id and updated cell by cell, never rebuilt; rows are moved only when the order
//   changes;
// - durations tick once a second on the visible rows only (textContent writes);
// - the count is announced politely (aria-live) at most every few seconds, never per row.
import { api, get } from './api.js';
import { h, fmtDuration, announce, confirmAction, toast, badge } from './ui.js';

/** Rows drawn at most; the rest is counted and reachable with the filter. */
export const MAX_ROWS = 200;
/** The quietest interval between two spoken count announcements (ms). */
const ANNOUNCE_EVERY_MS = 4000;

const STATE_KIND = { up: 'ok', ringing: 'warn', early: 'warn', ending: 'muted', down: 'muted' };

function party(p) {
  if (!p) return '';
  const number = p.number || '';
  return p.name && p.name !== number ? `${p.name} <${number}>` : number;
}

/** The live-calls widget: call `element` to place it, `start()` to connect, `stop()` to close. */
export class LiveCalls {
  constructor({ admin }) {
    this.admin = admin;
    this.calls = new Map();
    this.rows = new Map();
    this.pending = false;
    this.socket = null;
    this.stopped = false;
    this.retryMs = 1000;
    this.lastSeq = null;
    this.spokenCount = null;
    this.announceTimer = null;

    this.filterInput = h('input', {
      id: 'live-filter', type: 'search', 'data-testid': 'live-filter', autocomplete: 'off',
      placeholder: 'number, name, state',
      on: { input: () => this.schedule() },
    });
    this.count = h('p', { class: 'count', id: 'live-count', 'data-testid': 'live-count' }, '0 live calls');
    this.connection = badge('connecting', 'muted', 'live-status');
    this.tbody = h('tbody', { 'data-testid': 'live-calls-body' });
    const cols = ['Caller', 'Callee', 'State', 'Duration', 'Codec', 'Application', 'Direction'];
    if (admin) cols.push('Actions');
    this.columns = cols.length;
    this.empty = h('tr', { class: 'empty' }, h('td', { colspan: String(cols.length), text: 'No calls right now.' }));
    this.tbody.append(this.empty);
    this.table = h('table', { class: 'data live', 'data-testid': 'live-calls' },
      h('caption', { class: 'visually-hidden', text: 'Live calls, newest first' }),
      h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col', text: c })))),
      this.tbody);
    this.element = h('div', { class: 'live-calls' },
      h('div', { class: 'toolbar' },
        h('div', { class: 'field inline' }, h('label', { for: 'live-filter', text: 'Filter calls' }), this.filterInput),
        this.count, this.connection),
      h('div', { class: 'table-wrap', role: 'region', 'aria-label': 'Live calls', tabindex: '0' }, this.table));
    this.tick = setInterval(() => this.tickDurations(), 1000);
    this.tbody.addEventListener('click', (e) => this.onClick(e));
  }

  /** Opens the WebSocket (and reopens it after a drop, with back-off). */
  start() {
    this.connect();
  }

  /** Closes the socket and stops the timers. */
  stop() {
    this.stopped = true;
    clearInterval(this.tick);
    clearTimeout(this.retryTimer);
    clearTimeout(this.announceTimer);
    if (this.socket) this.socket.close(1000, 'page left');
  }

  connect() {
    if (this.stopped) return;
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    let opened = false;
    const socket = new WebSocket(`${scheme}://${location.host}/api/v1/calls/live`);
    this.socket = socket;
    socket.addEventListener('open', () => {
      opened = true;
      this.retryMs = 1000;
      this.setConnection('live', 'ok');
    });
    socket.addEventListener('message', (e) => this.onMessage(e.data));
    socket.addEventListener('close', () => {
      if (this.stopped) return;
      this.setConnection('reconnecting', 'warn');
      if (!opened) this.fallback();
      this.retryTimer = setTimeout(() => this.connect(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, 15000);
    });
  }

  /** Without the socket: one GET /calls as a snapshot (this also notices a lost session). */
  async fallback() {
    try {
      const data = await get('/calls');
      if (!this.stopped && data && Array.isArray(data.calls)) this.snapshot(data.calls);
    } catch { /* shown as "reconnecting" */ }
  }

  setConnection(text, kind) {
    this.connection.textContent = text;
    this.connection.className = `badge badge-${kind}`;
  }

  onMessage(text) {
    let msg;
    try { msg = JSON.parse(text); } catch { return; }
    if (msg.type === 'snapshot') {
      this.lastSeq = msg.seq;
      this.snapshot(msg.calls || []);
    } else if (msg.type === 'delta') {
      // Deltas are numbered one by one after the snapshot's seq: a gap means a lost
      // message, so start over with a fresh snapshot.
      if (typeof msg.seq === 'number' && typeof this.lastSeq === 'number' && msg.seq !== this.lastSeq + 1) {
        this.lastSeq = null;
        if (this.socket) this.socket.close(4000, 'resync');
        return;
      }
      this.lastSeq = msg.seq;
      for (const c of msg.upsert || []) this.calls.set(c.id, c);
      for (const id of msg.remove || []) this.calls.delete(id);
      this.schedule();
    }
  }

  snapshot(calls) {
    this.calls.clear();
    for (const c of calls) this.calls.set(c.id, c);
    this.schedule();
  }

  /** Coalesces renders: at most one per animation frame. */
  schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.render();
    });
  }

  visible() {
    const f = this.filterInput.value.trim().toLowerCase();
    let list = [...this.calls.values()];
    if (f) {
      list = list.filter((c) => [c.caller?.number, c.caller?.name, c.callee?.number, c.callee?.name,
        c.dialed, c.state, c.codec, c.app, c.direction, c.linkedid]
        .some((v) => v && String(v).toLowerCase().includes(f)));
    }
    list.sort((a, b) => (b.started_ms || 0) - (a.started_ms || 0));
    return { total: this.calls.size, matching: list.length, rows: list.slice(0, MAX_ROWS) };
  }

  render() {
    const { total, matching, rows } = this.visible();
    const keep = new Set(rows.map((c) => c.id));
    for (const [id, row] of this.rows) {
      if (!keep.has(id)) { row.tr.remove(); this.rows.delete(id); }
    }
    const now = Date.now();
    let at = 0;
    for (const call of rows) {
      let row = this.rows.get(call.id);
      if (!row) { row = this.makeRow(call); this.rows.set(call.id, row); }
      this.updateRow(row, call, now);
      // Move only when out of place (keeps focus and avoids layout churn).
      const current = this.tbody.children[at];
      if (current !== row.tr) this.tbody.insertBefore(row.tr, current || null);
      at++;
    }
    if (rows.length === 0) { if (!this.empty.isConnected) this.tbody.append(this.empty); }
    else if (this.empty.isConnected) this.empty.remove();
    let text = `${total} live call${total === 1 ? '' : 's'}`;
    if (matching !== total) text += `, ${matching} matching`;
    if (rows.length < matching) text += ` (showing the newest ${rows.length}; narrow with the filter)`;
    this.count.textContent = text;
    this.announceCount(total);
  }

  announceCount(total) {
    if (total === this.spokenCount || this.announceTimer) return;
    this.announceTimer = setTimeout(() => {
      this.announceTimer = null;
      const n = this.calls.size;
      if (n !== this.spokenCount) {
        this.spokenCount = n;
        announce(`${n} live call${n === 1 ? '' : 's'}`);
      }
    }, this.spokenCount === null ? 0 : ANNOUNCE_EVERY_MS);
  }

  makeRow(call) {
    const td = (cls) => h('td', { class: cls });
    const cells = {
      caller: td('caller'), callee: td('callee'), state: td('state'), duration: td('num duration'),
      codec: td('codec'), app: td('app'), direction: td('direction'),
    };
    const tr = h('tr', { 'data-call-id': call.id, 'data-testid': 'live-call-row' },
      cells.caller, cells.callee, cells.state, cells.duration, cells.codec, cells.app, cells.direction);
    if (this.admin) {
      tr.append(h('td', {}, h('button', {
        type: 'button', class: 'danger small', 'data-action': 'hangup', 'data-testid': 'hangup',
        'aria-label': `Hang up the call from ${party(call.caller) || 'unknown'}`,
      }, 'Hang up')));
    }
    return { tr, cells, last: {} };
  }

  updateRow(row, call, now) {
    const set = (key, value) => {
      if (row.last[key] !== value) { row.last[key] = value; row.cells[key].textContent = value; }
    };
    set('caller', party(call.caller));
    set('callee', party(call.callee) || call.dialed || '');
    set('codec', call.codec || '');
    set('app', call.app || '');
    set('direction', call.direction || '');
    const stateText = `${call.state || ''}${call.on_hold ? ' (on hold)' : ''}${call.bridged && call.state !== 'up' ? ' bridged' : ''}`;
    if (row.last.state !== stateText) {
      row.last.state = stateText;
      row.tr.dataset.state = call.state || '';
      row.cells.state.replaceChildren(badge(stateText, call.on_hold ? 'info' : STATE_KIND[call.state] || 'muted'));
    }
    row.call = call;
    set('duration', fmtDuration((now - (call.started_ms || now)) / 1000));
  }

  tickDurations() {
    if (document.hidden) return;
    const now = Date.now();
    for (const row of this.rows.values()) {
      const value = fmtDuration((now - (row.call.started_ms || now)) / 1000);
      if (row.last.duration !== value) { row.last.duration = value; row.cells.duration.textContent = value; }
    }
  }

  async onClick(e) {
    const button = e.target.closest('button[data-action="hangup"]');
    if (!button) return;
    const tr = button.closest('tr');
    const id = tr.dataset.callId;
    const call = this.calls.get(id);
    const who = call ? `${party(call.caller)} → ${party(call.callee) || call.dialed || ''}` : id;
    if (!(await confirmAction(`Hang up the call ${who}?`, 'Hang up'))) return;
    button.disabled = true;
    try {
      await api('DELETE', `/calls/${encodeURIComponent(id)}`);
      toast('Call hung up.');
    } catch (err) {
      toast(err.message, 'error');
      button.disabled = false;
    }
  }
}
