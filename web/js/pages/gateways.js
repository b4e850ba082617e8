// Gateways (trunks): list with their health state (GET /gateways, refreshed every 10 s),
// create (POST), edit (PUT), delete (DELETE, with a confirm). Config-defined gateways are
// read-only here.
import { api, get } from '../api.js';
import { h, replace, dataTable, emptyRow, errorBox, field, badge, confirmAction, toast, busy, fmtDateTime, focusField } from '../ui.js';

const REFRESH_MS = 10000;
const STATUS_KIND = { up: 'ok', down: 'bad', unknown: 'muted' };

export default async function gateways(main, ctx) {
  const message = h('div', { 'data-testid': 'gw-message' });
  const cols = ['Name', 'Address', 'Transport', 'Trust by source', 'State', 'Last check', 'Calls', ...(ctx.admin ? ['Actions'] : [])];
  const table = dataTable('Gateways', cols, 'gateways-table');
  let list = [];
  let editing = null;
  let drawn = null;

  const name = h('input', { name: 'name', 'data-testid': 'gw-name', required: true, autocomplete: 'off' });
  const address = h('input', { name: 'address', 'data-testid': 'gw-address', required: true, placeholder: 'host:port', autocomplete: 'off' });
  const transport = h('select', { name: 'transport', 'data-testid': 'gw-transport' },
    ['udp', 'tcp', 'tls'].map((t) => h('option', { value: t, text: t.toUpperCase() })));
  const trust = h('input', { type: 'checkbox', name: 'trust_inbound_by_source', 'data-testid': 'gw-trust', id: 'gw-trust' });
  const legend = h('legend', { text: 'Add a gateway' });
  const submit = h('button', { type: 'submit', class: 'primary', 'data-testid': 'gw-save' }, 'Create gateway');
  const cancel = h('button', { type: 'button', 'data-testid': 'gw-cancel', hidden: true, on: { click: () => startCreate() } }, 'Cancel');
  const form = ctx.admin ? h('form', { class: 'panel', 'data-testid': 'gw-form', novalidate: true },
    h('fieldset', {}, legend,
      h('div', { class: 'form-grid' },
        field('Name', name),
        field('Address', address, 'host:port of the provider or PBX'),
        field('Transport', transport),
        h('div', { class: 'field check' }, trust, h('label', { for: 'gw-trust', text: 'Trust inbound calls by source address' }))),
      h('div', { class: 'form-actions' }, submit, cancel))) : null;

  replace(main,
    h('h1', { text: 'Gateways' }),
    h('p', { class: 'muted' }, 'SIP trunks to providers and other PBXs. The state comes from periodic OPTIONS checks. Gateways marked config are defined in the sip-profiles files: edit the file to change them.'),
    ctx.admin ? null : h('p', { class: 'alert alert-info', 'data-testid': 'viewer-note' }, 'You are signed in as a viewer: nothing can be changed here.'),
    form, message,
    h('h2', { text: 'All gateways' }),
    table.wrap);

  function say(node) { replace(message, node); }

  function startCreate() {
    editing = null;
    form.reset();
    name.readOnly = false;
    legend.textContent = 'Add a gateway';
    submit.textContent = 'Create gateway';
    cancel.hidden = true;
  }

  function startEdit(gw) {
    editing = gw.name;
    name.value = gw.name;
    name.readOnly = true;
    address.value = gw.address || '';
    transport.value = (gw.transport || 'udp').toLowerCase();
    trust.checked = !!gw.trust_inbound_by_source;
    legend.textContent = `Edit gateway ${gw.name}`;
    submit.textContent = 'Save gateway';
    cancel.hidden = false;
    address.focus();
  }

  form?.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = { name: name.value.trim(), address: address.value.trim(), transport: transport.value, trust_inbound_by_source: trust.checked };
    if (!body.name || !body.address) { say(errorBox('Enter a name and an address (host:port).')); (body.name ? address : name).focus(); return; }
    await busy(form, async () => {
      try {
        if (editing) await api('PUT', `/gateways/${encodeURIComponent(editing)}`, body);
        else await api('POST', '/gateways', body);
        toast(`Gateway ${body.name} saved.`);
        say(null);
        startCreate();
        await load();
      } catch (err) { say(errorBox(err, 'gw-error')); focusField(form, err); }
    });
  });

  async function remove(gw) {
    if (!(await confirmAction(`Delete gateway ${gw.name}? Calls routed to it will fail.`, 'Delete'))) return;
    try {
      await api('DELETE', `/gateways/${encodeURIComponent(gw.name)}`);
      toast(`Gateway ${gw.name} deleted.`);
      if (editing === gw.name) startCreate();
      await load();
    } catch (err) { say(errorBox(err, 'gw-error')); }
  }

  function row(gw) {
    const st = gw.state || {};
    const status = st.status || 'unknown';
    const editable = gw.editable !== false && gw.origin !== 'config';
    const tr = h('tr', { 'data-gateway': gw.name, 'data-testid': 'gateway-row' },
      h('th', { scope: 'row' }, gw.name, ' ', editable ? null : badge('config', 'muted')),
      h('td', { text: gw.address || '' }),
      h('td', { text: (gw.transport || '').toUpperCase() }),
      h('td', { text: gw.trust_inbound_by_source ? 'yes' : 'no' }),
      h('td', { title: st.last_error || '' }, badge(status, STATUS_KIND[status] || 'muted', 'gw-state'),
        st.rtt_ms != null ? h('small', { class: 'muted', text: ` ${st.rtt_ms} ms` }) : null,
        st.last_error ? h('span', { class: 'visually-hidden', text: ` (${st.last_error})` }) : null),
      h('td', { text: st.last_checked_ms ? fmtDateTime(st.last_checked_ms) : '—' }),
      h('td', { class: 'num', text: String(st.active_calls ?? 0) }));
    if (ctx.admin) {
      tr.append(h('td', {}, editable ? h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'small', 'data-testid': 'gw-edit', 'aria-label': `Edit gateway ${gw.name}`, on: { click: () => startEdit(gw) } }, 'Edit'),
        h('button', { type: 'button', class: 'small danger', 'data-testid': 'gw-delete', 'aria-label': `Delete gateway ${gw.name}`, on: { click: () => remove(gw) } }, 'Delete'))
        : h('span', { class: 'muted', text: 'config file' })));
    }
    return tr;
  }

  async function load() {
    try {
      const data = await get('/gateways');
      list = (data.gateways || []).slice().sort((a, b) => a.name.localeCompare(b.name));
      // Redraw only on change (the periodic refresh must not steal focus).
      const key = JSON.stringify(list);
      if (key === drawn) return;
      drawn = key;
      replace(table.tbody, list.length ? list.map(row) : emptyRow(cols.length, 'No gateways yet.'));
    } catch (e) {
      replace(table.tbody, emptyRow(cols.length, 'Could not load the gateways.'));
      say(errorBox(e));
    }
  }

  await load();
  const timer = setInterval(() => { if (!document.hidden) load(); }, REFRESH_MS);
  return () => clearInterval(timer);
}
