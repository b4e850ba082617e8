// Call records: the legs view (GET /cdr/legs) and the bridges view (GET /cdr/bridges),
// a filter form (time range, number, direction, disposition, linkedid, account), cursor
// paging, a CSV export link carrying the same filters, and a click on a row opening the
// call's detail (/ui/cdr/call/{linkedid}). The filters live in the page's URL, so the back
// button returns to the same search.
import { get, query } from '../api.js';
import { h, replace, dataTable, emptyRow, errorBox, field, fmtDateTime, fmtDuration, toLocalInput, badge, announce } from '../ui.js';

const PAGE_SIZE = 50;
const FILTERS = ['from', 'to', 'number', 'direction', 'disposition', 'linkedid', 'account'];

const VIEWS = {
  legs: {
    label: 'Legs',
    columns: ['Start', 'Caller', 'Destination', 'Direction', 'Status', 'Duration', 'Talk', 'Hang-up cause', 'Codec', 'Linked id'],
    cells: (r) => [
      party(r.caller_id_number, r.caller_id_name),
      r.destination_number || r.dial_number || '',
      r.direction || '',
      legOutcome(r),
      { num: fmtDuration(secs(r.duration_ms, r.duration)) },
      { num: fmtDuration(secs(r.billsec_ms, r.billsec)) },
      [r.hangup_cause || '', r.sip_code ? ` (${r.sip_code})` : ''].join(''),
      r.codec || '',
      r.linkedid || '',
    ],
  },
  bridges: {
    label: 'Bridges',
    columns: ['Start', 'Caller id', 'Source', 'Destination', 'Disposition', 'Duration', 'Talk', 'Application', 'Channel', 'Peer channel', 'Linked id'],
    cells: (r) => [
      r.clid || '',
      r.src || '',
      r.dst || '',
      badge(r.disposition || '', r.disposition === 'ANSWERED' ? 'ok' : r.disposition === 'FAILED' ? 'bad' : 'muted'),
      { num: fmtDuration(secs(r.duration_ms, r.duration)) },
      { num: fmtDuration(secs(r.billsec_ms, r.billsec)) },
      [r.lastapp, r.lastdata].filter(Boolean).join(' '),
      r.channel || '',
      r.dstchannel || '',
      r.linkedid || '',
    ],
  },
};

/** A finished leg: answered or not; an open one: its live status. */
function legOutcome(r) {
  if (r.end == null) return badge(r.status || 'open', 'info');
  return r.answer != null ? badge('answered', 'ok') : badge('not answered', 'warn');
}

function secs(ms, s) { return ms != null ? ms / 1000 : s; }
function party(number, name) { return name && name !== number ? `${name} <${number || ''}>` : (number || ''); }

/** datetime-local value → Unix ms ('' stays ''). */
function toMs(v) {
  if (!v) return '';
  const t = new Date(v).getTime();
  return Number.isNaN(t) ? '' : t;
}
function fromMs(v) {
  if (!v) return '';
  const n = Number(v);
  const d = Number.isNaN(n) ? new Date(v) : new Date(n);
  return Number.isNaN(d.getTime()) ? '' : toLocalInput(d);
}

export default async function cdr(main, ctx) {
  const params = ctx.query;
  let view = params.get('view') === 'bridges' ? 'bridges' : 'legs';
  let cursors = [null];
  let page = 0;

  const inputs = {
    from: h('input', { type: 'datetime-local', name: 'from', 'data-testid': 'cdr-from', value: fromMs(params.get('from')) }),
    to: h('input', { type: 'datetime-local', name: 'to', 'data-testid': 'cdr-to', value: fromMs(params.get('to')) }),
    number: h('input', { name: 'number', 'data-testid': 'cdr-number', value: params.get('number') || '', autocomplete: 'off', inputmode: 'tel' }),
    direction: h('select', { name: 'direction', 'data-testid': 'cdr-direction' },
      [['', 'any'], ['inbound', 'inbound'], ['outbound', 'outbound']].map(([v, t]) => h('option', { value: v, text: t }))),
    disposition: h('select', { name: 'disposition', 'data-testid': 'cdr-disposition' },
      [['', 'any'], ['ANSWERED', 'answered'], ['NO ANSWER', 'no answer'], ['BUSY', 'busy'], ['FAILED', 'failed'], ['CONGESTION', 'congestion']].map(([v, t]) => h('option', { value: v, text: t }))),
    linkedid: h('input', { name: 'linkedid', 'data-testid': 'cdr-linkedid', value: params.get('linkedid') || '', autocomplete: 'off' }),
    account: h('input', { name: 'account', 'data-testid': 'cdr-account', value: params.get('account') || '', autocomplete: 'off' }),
  };
  inputs.direction.value = params.get('direction') || '';
  inputs.disposition.value = params.get('disposition') || '';
  const dispositionField = field('Disposition', inputs.disposition);
  const directionField = field('Direction', inputs.direction);

  const tabs = Object.entries(VIEWS).map(([key, v]) => h('button', {
    type: 'button', 'data-view': key, 'data-testid': `cdr-tab-${key}`, 'aria-pressed': String(key === view),
    on: { click: () => { if (view !== key) { view = key; restart(); } } },
  }, v.label));
  const form = h('form', { class: 'panel', 'data-testid': 'cdr-filter', role: 'search', 'aria-label': 'Filter call records' },
    h('div', { class: 'form-grid' },
      field('From', inputs.from), field('To', inputs.to),
      field('Number', inputs.number, 'caller or callee; end with * for a prefix'),
      directionField, dispositionField,
      field('Linked id', inputs.linkedid), field('Account', inputs.account)),
    h('div', { class: 'form-actions' },
      h('button', { type: 'submit', class: 'primary', 'data-testid': 'cdr-search' }, 'Search'),
      h('button', { type: 'button', 'data-testid': 'cdr-today', on: { click: today } }, 'Today'),
      h('button', { type: 'button', 'data-testid': 'cdr-clear', on: { click: clear } }, 'Clear')));
  const csv = h('a', { class: 'button', 'data-testid': 'cdr-csv', id: 'cdr-csv', download: '' }, 'Export CSV');
  const status = h('p', { class: 'count', 'data-testid': 'cdr-count', 'aria-live': 'polite' });
  const message = h('div');
  const tableBox = h('div');
  const prev = h('button', { type: 'button', 'data-testid': 'cdr-prev', disabled: true, on: { click: () => { page--; load(); } } }, 'Previous page');
  const next = h('button', { type: 'button', 'data-testid': 'cdr-next', disabled: true, on: { click: () => { page++; load(); } } }, 'Next page');
  const pageLabel = h('span', { class: 'muted', 'data-testid': 'cdr-page' });

  replace(main,
    h('div', { class: 'page-head' }, h('h1', { text: 'Call records' }), h('div', { class: 'page-actions' }, csv)),
    h('div', { class: 'tabs', role: 'group', 'aria-label': 'Record kind' }, tabs),
    form, message,
    h('div', { class: 'toolbar' }, status),
    tableBox,
    h('div', { class: 'pager' }, prev, pageLabel, next));

  form.addEventListener('submit', (e) => { e.preventDefault(); restart(); });

  function today() {
    const start = new Date(); start.setHours(0, 0, 0, 0);
    inputs.from.value = toLocalInput(start);
    inputs.to.value = '';
    restart();
  }
  function clear() {
    for (const i of Object.values(inputs)) i.value = '';
    restart();
  }

  function filters() {
    const f = {
      from: toMs(inputs.from.value), to: toMs(inputs.to.value), number: inputs.number.value.trim(),
      linkedid: inputs.linkedid.value.trim(), account: inputs.account.value.trim(),
    };
    // Direction is a property of a leg, disposition of a bridge record.
    if (view === 'bridges') f.disposition = inputs.disposition.value;
    else f.direction = inputs.direction.value;
    return f;
  }

  function restart() {
    cursors = [null];
    page = 0;
    for (const t of tabs) t.setAttribute('aria-pressed', String(t.dataset.view === view));
    dispositionField.hidden = view !== 'bridges';
    directionField.hidden = view === 'bridges';
    const f = filters();
    history.replaceState(null, '', `/ui/cdr${query({ view, ...f })}`);
    csv.href = `/api/v1/cdr/${view}.csv${query(f)}`;
    csv.textContent = `Export ${VIEWS[view].label.toLowerCase()} as CSV`;
    load();
  }

  let loading = null;
  async function load() {
    if (loading) loading.abort();
    const ctl = new AbortController();
    loading = ctl;
    const v = VIEWS[view];
    const f = filters();
    prev.disabled = true; next.disabled = true;
    status.textContent = 'Searching…';
    try {
      const data = await get(`/cdr/${view}${query({ ...f, limit: PAGE_SIZE, cursor: cursors[page] })}`, { signal: ctl.signal });
      if (ctl !== loading) return;
      const rows = data.rows || [];
      cursors[page + 1] = data.next_cursor || null;
      const t = dataTable(`Call records: ${v.label.toLowerCase()}`, v.columns, 'cdr-table');
      replace(t.tbody, rows.length ? rows.map((r) => row(r, v)) : emptyRow(v.columns.length, 'No records match.'));
      replace(tableBox, t.wrap);
      replace(message);
      const text = `${rows.length} record${rows.length === 1 ? '' : 's'} on page ${page + 1}${data.next_cursor ? ', more on the next page' : ''}`;
      status.textContent = text;
      announce(text);
      pageLabel.textContent = `Page ${page + 1}`;
      prev.disabled = page === 0;
      next.disabled = !data.next_cursor;
    } catch (e) {
      if (e.name === 'AbortError') return;
      status.textContent = '';
      replace(message, errorBox(e, 'cdr-error'));
    }
  }

  function row(r, v) {
    const link = r.linkedid ? `/ui/cdr/call/${encodeURIComponent(r.linkedid)}` : null;
    const tr = h('tr', {
      'data-testid': 'cdr-row', 'data-linkedid': r.linkedid || '', 'data-id': r.id ?? '', class: link ? 'clickable' : '',
    }, h('th', { scope: 'row' }, link ? h('a', { href: link, 'data-testid': 'cdr-row-link' }, fmtDateTime(r.start)) : fmtDateTime(r.start)),
    v.cells(r).map((c) => (c && c.num !== undefined ? h('td', { class: 'num', text: c.num }) : h('td', {}, c))));
    if (link) {
      tr.addEventListener('click', (e) => {
        if (e.target.closest('a, button') || window.getSelection().toString()) return;
        ctx.navigate(link);
      });
    }
    return tr;
  }

  restart();
}
