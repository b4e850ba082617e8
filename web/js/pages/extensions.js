// Extensions: list (GET /extensions), create (POST, the generated password shown once),
// edit the display name (PUT), reset the password (POST .../password), delete (DELETE,
// with a confirm). Extensions defined in the configuration files are read-only here.
import { api, get } from '../api.js';
import { h, replace, dataTable, emptyRow, errorBox, field, secretBox, badge, confirmAction, toast, busy, focusField } from '../ui.js';

export default async function extensions(main, ctx) {
  const message = h('div', { 'data-testid': 'ext-message', 'aria-live': 'polite' });
  const cols = ['Number', 'Display name', 'Origin', 'Registered', ...(ctx.admin ? ['Actions'] : [])];
  const table = dataTable('Extensions', cols, 'extensions-table');
  let list = [];

  const form = ctx.admin ? createForm() : null;
  replace(main,
    h('h1', { text: 'Extensions' }),
    h('p', { class: 'muted' }, 'Phones register with these numbers. Changes take effect at once. Extensions defined in the ',
      h('code', { text: 'sip-profiles' }), ' files are shown read-only: edit the file to change them.'),
    ctx.admin ? null : h('p', { class: 'alert alert-info', 'data-testid': 'viewer-note' }, 'You are signed in as a viewer: nothing can be changed here.'),
    form,
    message,
    h('h2', { text: 'All extensions' }),
    table.wrap);

  function say(node) { replace(message, node); }

  async function load() {
    try {
      const data = await get('/extensions');
      list = (data.extensions || []).slice().sort((a, b) => String(a.number).localeCompare(String(b.number), undefined, { numeric: true }));
      draw();
    } catch (e) {
      replace(table.tbody, emptyRow(cols.length, 'Could not load the extensions.'));
      say(errorBox(e));
    }
  }

  function draw() {
    replace(table.tbody, list.length ? list.map(row) : emptyRow(cols.length, 'No extensions yet.'));
  }

  function row(ext) {
    const editable = ext.editable !== false && ext.origin !== 'config';
    const nameCell = h('td', { class: 'display-name', text: ext.display_name || '' });
    const tr = h('tr', { 'data-extension': ext.number, 'data-testid': 'extension-row' },
      h('th', { scope: 'row', text: ext.number }),
      nameCell,
      h('td', {}, editable ? badge('web', 'info') : badge('config (read-only)', 'muted'),
        ext.loopback_only ? [' ', badge('loopback only', 'warn')] : null),
      h('td', { class: 'num', text: String(ext.registrations ?? 0) }));
    if (ctx.admin) {
      tr.append(h('td', { class: 'actions-cell' }, editable
        ? h('div', { class: 'actions' },
          h('button', { type: 'button', class: 'small', 'data-testid': 'ext-edit', 'aria-label': `Edit extension ${ext.number}`, on: { click: () => edit(ext, nameCell) } }, 'Edit'),
          h('button', { type: 'button', class: 'small', 'data-testid': 'ext-reset-password', 'aria-label': `Reset the password of extension ${ext.number}`, on: { click: () => resetPassword(ext) } }, 'Reset password'),
          h('button', { type: 'button', class: 'small danger', 'data-testid': 'ext-delete', 'aria-label': `Delete extension ${ext.number}`, on: { click: () => remove(ext) } }, 'Delete'))
        : h('span', { class: 'muted', text: 'edit the file' })));
    }
    return tr;
  }

  function createForm() {
    const number = h('input', { name: 'number', 'data-testid': 'ext-number', required: true, inputmode: 'numeric', autocomplete: 'off', pattern: '[0-9A-Za-z_.+-]+' });
    const display = h('input', { name: 'display_name', 'data-testid': 'ext-display-name', autocomplete: 'off' });
    const password = h('input', { name: 'password', type: 'password', 'data-testid': 'ext-password', autocomplete: 'new-password' });
    const f = h('form', { class: 'panel', 'data-testid': 'ext-create-form', novalidate: true },
      h('fieldset', {},
        h('legend', { text: 'Add an extension' }),
        h('div', { class: 'form-grid' },
          field('Number', number),
          field('Display name (optional)', display),
          field('Password (optional)', password, 'Leave empty to generate a strong one.')),
        h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'primary', id: 'ext-create', 'data-testid': 'ext-create' }, 'Create extension'))));
    f.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (!number.value.trim()) { say(errorBox('Enter the extension number.')); number.focus(); return; }
      const body = { number: number.value.trim() };
      if (display.value.trim()) body.display_name = display.value.trim();
      if (password.value) body.password = password.value;
      await busy(f, async () => {
        try {
          const created = await api('POST', '/extensions', body);
          const secret = created.password;
          say(h('div', {},
            h('p', { class: 'alert alert-ok', role: 'status' }, `Extension ${body.number} created.`),
            secret && !body.password ? secretBox(`Password of ${body.number}:`, secret, 'ext-secret') : null));
          f.reset();
          await load();
        } catch (err) {
          say(errorBox(err, 'ext-error'));
          focusField(f, err);
        }
      });
    });
    return f;
  }

  function edit(ext, cell) {
    const input = h('input', { value: ext.display_name || '', 'data-testid': 'ext-edit-name', 'aria-label': `Display name of ${ext.number}` });
    const f = h('form', { class: 'actions' }, input,
      h('button', { type: 'submit', class: 'small primary', 'data-testid': 'ext-edit-save' }, 'Save'),
      h('button', { type: 'button', class: 'small', 'data-testid': 'ext-edit-cancel', on: { click: () => draw() } }, 'Cancel'));
    f.addEventListener('submit', async (e) => {
      e.preventDefault();
      await busy(f, async () => {
        try {
          await api('PUT', `/extensions/${encodeURIComponent(ext.number)}`, { display_name: input.value.trim() });
          toast(`Extension ${ext.number} saved.`);
          await load();
        } catch (err) { say(errorBox(err, 'ext-error')); }
      });
    });
    replace(cell, f);
    input.focus();
  }

  async function resetPassword(ext) {
    if (!(await confirmAction(`Reset the password of extension ${ext.number}? Its phones must be set up with the new one.`, 'Reset password'))) return;
    try {
      const res = await api('POST', `/extensions/${encodeURIComponent(ext.number)}/password`, {});
      say(secretBox(`New password of ${ext.number}:`, res.password, 'ext-secret'));
    } catch (err) { say(errorBox(err, 'ext-error')); }
  }

  async function remove(ext) {
    if (!(await confirmAction(`Delete extension ${ext.number}? Its registrations are dropped.`, 'Delete'))) return;
    try {
      await api('DELETE', `/extensions/${encodeURIComponent(ext.number)}`);
      toast(`Extension ${ext.number} deleted.`);
      say(null);
      await load();
    } catch (err) { say(errorBox(err, 'ext-error')); }
  }

  await load();
}
