// Accounts, API tokens and the audit log: accounts list/create/change role/delete,
// tokens create (the secret shown once)/delete, the audit log newest first with paging.
// Viewers see the lists only.
import { api, get, query } from '../api.js';
import { h, replace, dataTable, emptyRow, errorBox, field, secretBox, badge, confirmAction, toast, busy, fmtDateTime, focusField } from '../ui.js';

const AUDIT_PAGE = 50;

function roleSelect(testid, value = 'viewer', label) {
  const s = h('select', { name: 'role', 'data-testid': testid, 'aria-label': label },
    h('option', { value: 'viewer', text: 'viewer (read only)' }), h('option', { value: 'admin', text: 'admin' }));
  s.value = value;
  return s;
}

export default async function admin(main, ctx) {
  const accMsg = h('div', { 'data-testid': 'account-message' });
  const tokMsg = h('div', { 'data-testid': 'token-message' });
  const audMsg = h('div');
  const accCols = ['Name', 'Role', 'Created', 'Status', ...(ctx.admin ? ['Actions'] : [])];
  const accounts = dataTable('Accounts', accCols, 'accounts-table');
  const tokCols = ['Id', 'Name', 'Role', 'Created', 'Created by', 'Last used', ...(ctx.admin ? ['Actions'] : [])];
  const tokens = dataTable('API tokens', tokCols, 'tokens-table');
  const audit = dataTable('Audit log, newest first', ['When', 'Who', 'Action', 'Target', 'Details'], 'audit-table');
  const older = h('button', { type: 'button', 'data-testid': 'audit-older', disabled: true }, 'Older entries');
  const newest = h('button', { type: 'button', 'data-testid': 'audit-newest', disabled: true }, 'Newest');

  // Account creation.
  const accName = h('input', { name: 'name', 'data-testid': 'account-name', autocomplete: 'off', autocapitalize: 'none' });
  const accPassword = h('input', { name: 'password', type: 'password', 'data-testid': 'account-password', autocomplete: 'new-password', minlength: '8' });
  const accRole = roleSelect('account-role');
  const accForm = ctx.admin ? h('form', { class: 'panel', 'data-testid': 'account-form', novalidate: true },
    h('fieldset', {}, h('legend', { text: 'Add an account' }),
      h('div', { class: 'form-grid' }, field('Name', accName), field('Password', accPassword, 'At least 8 characters.'), field('Role', accRole)),
      h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'primary', 'data-testid': 'account-create' }, 'Create account')))) : null;

  // Token creation.
  const tokName = h('input', { name: 'name', 'data-testid': 'token-name', autocomplete: 'off' });
  const tokRole = roleSelect('token-role');
  const tokForm = ctx.admin ? h('form', { class: 'panel', 'data-testid': 'token-form', novalidate: true },
    h('fieldset', {}, h('legend', { text: 'Create an API token' }),
      h('div', { class: 'form-grid' }, field('Label', tokName, 'What the token is for, e.g. billing-export'), field('Role', tokRole)),
      h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'primary', 'data-testid': 'token-create' }, 'Create token')))) : null;

  replace(main,
    h('h1', { text: 'Accounts & audit' }),
    ctx.admin ? null : h('p', { class: 'alert alert-info', 'data-testid': 'viewer-note' }, 'You are signed in as a viewer: nothing can be changed here.'),
    h('section', { 'aria-labelledby': 'h-accounts' }, h('h2', { id: 'h-accounts', text: 'Accounts' }), accForm, accMsg, accounts.wrap),
    h('section', { 'aria-labelledby': 'h-tokens' }, h('h2', { id: 'h-tokens', text: 'API tokens' }),
      h('p', { class: 'muted' }, 'Scripts send a token as ', h('code', { text: 'Authorization: Bearer <token>' }), '.'),
      tokForm, tokMsg, tokens.wrap),
    h('section', { 'aria-labelledby': 'h-audit' }, h('h2', { id: 'h-audit', text: 'Audit log' }), audMsg, audit.wrap,
      h('div', { class: 'pager' }, newest, older)));

  // ---- accounts
  async function loadAccounts() {
    try {
      const data = await get('/accounts');
      const list = data.accounts || [];
      replace(accounts.tbody, list.length ? list.map(accountRow) : emptyRow(accCols.length));
    } catch (e) { replace(accMsg, errorBox(e)); }
  }
  function accountRow(a) {
    const locked = a.locked_until && a.locked_until > Date.now();
    const tr = h('tr', { 'data-account': a.name, 'data-testid': 'account-row' },
      h('th', { scope: 'row' }, a.name, a.name === ctx.me.name ? h('span', { class: 'muted', text: ' (you)' }) : null),
      h('td', {}, badge(a.role, a.role === 'admin' ? 'info' : 'muted')),
      h('td', { text: fmtDateTime(a.created) }),
      h('td', {}, locked ? badge(`locked until ${fmtDateTime(a.locked_until)}`, 'bad') : badge('active', 'ok')));
    if (ctx.admin) {
      const sel = roleSelect('account-role-select', a.role, `Role of ${a.name}`);
      const save = h('button', { type: 'button', class: 'small', 'data-testid': 'account-role-save' }, 'Change role');
      save.addEventListener('click', async () => {
        if (sel.value === a.role) return;
        try {
          await api('PUT', `/accounts/${encodeURIComponent(a.name)}`, { role: sel.value });
          toast(`${a.name} is now ${sel.value}.`);
          await Promise.all([loadAccounts(), loadAudit(true)]);
        } catch (e) { replace(accMsg, errorBox(e, 'account-error')); }
      });
      const del = h('button', { type: 'button', class: 'small danger', 'data-testid': 'account-delete', 'aria-label': `Delete account ${a.name}` }, 'Delete');
      del.addEventListener('click', async () => {
        if (!(await confirmAction(`Delete the account ${a.name}? Its sessions end at once.`, 'Delete'))) return;
        try {
          await api('DELETE', `/accounts/${encodeURIComponent(a.name)}`);
          toast(`Account ${a.name} deleted.`);
          await Promise.all([loadAccounts(), loadAudit(true)]);
        } catch (e) { replace(accMsg, errorBox(e, 'account-error')); }
      });
      tr.append(h('td', {}, h('div', { class: 'actions' }, sel, save, del)));
    }
    return tr;
  }
  accForm?.addEventListener('submit', async (e) => {
    e.preventDefault();
    await busy(accForm, async () => {
      try {
        await api('POST', '/accounts', { name: accName.value.trim(), password: accPassword.value, role: accRole.value });
        replace(accMsg, h('p', { class: 'alert alert-ok', role: 'status', text: `Account ${accName.value.trim()} created.` }));
        accForm.reset();
        await Promise.all([loadAccounts(), loadAudit(true)]);
      } catch (err) { replace(accMsg, errorBox(err, 'account-error')); focusField(accForm, err); }
    });
  });

  // ---- tokens
  async function loadTokens() {
    try {
      const data = await get('/tokens');
      const list = data.tokens || [];
      replace(tokens.tbody, list.length ? list.map(tokenRow) : emptyRow(tokCols.length, 'No API tokens.'));
    } catch (e) { replace(tokMsg, errorBox(e)); }
  }
  function tokenRow(t) {
    const tr = h('tr', { 'data-token-id': t.id, 'data-testid': 'token-row' },
      h('td', { class: 'num', text: String(t.id) }),
      h('th', { scope: 'row', text: t.name }),
      h('td', {}, badge(t.role, t.role === 'admin' ? 'info' : 'muted')),
      h('td', { text: fmtDateTime(t.created) }),
      h('td', { text: t.created_by || '' }),
      h('td', { text: t.last_used ? fmtDateTime(t.last_used) : 'never' }));
    if (ctx.admin) {
      tr.append(h('td', {}, h('button', {
        type: 'button', class: 'small danger', 'data-testid': 'token-delete', 'aria-label': `Delete token ${t.name}`,
        on: {
          click: async () => {
            if (!(await confirmAction(`Delete the API token ${t.name}? Scripts using it stop working.`, 'Delete'))) return;
            try {
              await api('DELETE', `/tokens/${t.id}`);
              toast(`Token ${t.name} deleted.`);
              await Promise.all([loadTokens(), loadAudit(true)]);
            } catch (e) { replace(tokMsg, errorBox(e, 'token-error')); }
          },
        },
      }, 'Delete')));
    }
    return tr;
  }
  tokForm?.addEventListener('submit', async (e) => {
    e.preventDefault();
    await busy(tokForm, async () => {
      try {
        const t = await api('POST', '/tokens', { name: tokName.value.trim(), role: tokRole.value });
        replace(tokMsg, secretBox(`API token ${t.name}:`, t.token, 'token-secret'));
        tokForm.reset();
        await Promise.all([loadTokens(), loadAudit(true)]);
      } catch (err) { replace(tokMsg, errorBox(err, 'token-error')); focusField(tokForm, err); }
    });
  });

  // ---- audit
  let before = null;
  let pageStarts = [];
  async function loadAudit(reset = false) {
    if (reset) { before = null; pageStarts = []; }
    try {
      const data = await get(`/audit${query({ limit: AUDIT_PAGE, before })}`);
      const list = data.entries || [];
      replace(audMsg);
      replace(audit.tbody, list.length ? list.map((a) => h('tr', { 'data-testid': 'audit-row', 'data-action': a.action },
        h('th', { scope: 'row', text: fmtDateTime(a.at) }),
        h('td', { text: a.actor }),
        h('td', {}, h('code', { text: a.action })),
        h('td', { text: a.target }),
        h('td', { class: 'wrap', text: a.detail && Object.keys(a.detail).length ? JSON.stringify(a.detail) : '' }))) : emptyRow(5, 'No entries.'));
      const smallest = list.length ? Math.min(...list.map((a) => a.id)) : null;
      older.disabled = list.length < AUDIT_PAGE;
      older.onclick = () => { pageStarts.push(before); before = smallest; loadAudit(); };
      newest.disabled = before === null;
      newest.onclick = () => loadAudit(true);
    } catch (e) { replace(audMsg, errorBox(e)); }
  }

  await Promise.all([loadAccounts(), loadTokens(), loadAudit(true)]);
}
