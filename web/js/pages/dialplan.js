// Dialplan editor: the files of the dialplan directory (GET /dialplan), one open in a
// textarea with line numbers and a line/column indicator; Validate (POST
// /dialplan/validate) lists errors with line and column — clicking one moves the cursor
// there; Save (PUT /dialplan/files/{name}) writes and hot-reloads, or answers 422 with the
// errors and keeps the running dialplan. Viewers see the files read-only.
import { api, get } from '../api.js';
import { h, replace, errorBox, field, confirmAction, toast, fmtDateTime, fmtBytes, busy } from '../ui.js';

const NAME_RE = /^[A-Za-z0-9_.-]+\.conf$/;

export default async function dialplan(main, ctx) {
  let files = [];
  let current = null;
  let original = '';
  let lineCount = 0;

  const info = h('p', { class: 'muted', 'data-testid': 'dialplan-info' });
  const fileList = h('ul', { class: 'file-list', 'data-testid': 'dialplan-files' });
  const title = h('h2', { id: 'dialplan-file-title', 'data-testid': 'dialplan-file-title', text: 'No file open' });
  const gutter = h('pre', { class: 'gutter', 'aria-hidden': 'true' });
  const textarea = h('textarea', {
    id: 'dialplan-text', class: 'code', 'data-testid': 'dialplan-editor', wrap: 'off', spellcheck: 'false',
    autocapitalize: 'off', autocomplete: 'off', readOnly: !ctx.admin, disabled: true,
    'aria-describedby': 'dialplan-cursor dialplan-modified',
  });
  const cursor = h('span', { id: 'dialplan-cursor', 'data-testid': 'dialplan-cursor', text: 'Line 1, column 1' });
  const modified = h('span', { id: 'dialplan-modified', 'data-testid': 'dialplan-modified', text: '' });
  const validateBtn = h('button', { type: 'button', id: 'dialplan-validate', 'data-testid': 'dialplan-validate', disabled: true }, 'Validate');
  const saveBtn = h('button', {
    type: 'button', id: 'dialplan-save', class: 'primary', 'data-testid': 'dialplan-save', disabled: true,
    title: ctx.admin ? '' : 'The viewer role cannot change the dialplan',
  }, 'Save and reload');
  const revertBtn = h('button', { type: 'button', 'data-testid': 'dialplan-revert', disabled: true }, 'Revert');
  const deleteBtn = ctx.admin ? h('button', { type: 'button', class: 'danger', 'data-testid': 'dialplan-delete', disabled: true }, 'Delete file') : null;
  const message = h('div', { 'data-testid': 'dialplan-message', 'aria-live': 'polite' });
  const errorsHeading = h('h3', { id: 'dialplan-errors-title', text: 'Errors', hidden: true });
  const errorList = h('ul', { class: 'error-list', 'data-testid': 'dialplan-errors', 'aria-labelledby': 'dialplan-errors-title' });

  const newName = h('input', { name: 'name', 'data-testid': 'dialplan-new-name', placeholder: 'name.conf', autocomplete: 'off' });
  const newForm = ctx.admin ? h('form', { class: 'panel', 'data-testid': 'dialplan-new-form' },
    field('New file', newName, 'Letters, digits, _ . - ending in .conf'),
    h('button', { type: 'submit', 'data-testid': 'dialplan-new-create' }, 'Create file')) : null;

  replace(main,
    h('h1', { text: 'Dialplan' }),
    info,
    ctx.admin ? null : h('p', { class: 'alert alert-info', 'data-testid': 'viewer-note' }, 'You are signed in as a viewer: the dialplan is read-only and cannot be saved.'),
    h('div', { class: 'editor-layout' },
      h('nav', { 'aria-label': 'Dialplan files' }, h('h2', { text: 'Files' }), fileList, newForm),
      h('section', { 'aria-labelledby': 'dialplan-file-title' },
        title,
        h('label', { for: 'dialplan-text', class: 'visually-hidden', text: 'Dialplan file content' }),
        h('div', { class: 'editor' }, gutter, textarea),
        h('div', { class: 'editor-status' }, cursor, modified),
        h('div', { class: 'actions' }, validateBtn, saveBtn, revertBtn, deleteBtn),
        message, errorsHeading, errorList)));

  function say(node) { replace(message, node); }

  function updateGutter() {
    const n = textarea.value.split('\n').length;
    if (n !== lineCount) {
      lineCount = n;
      gutter.textContent = Array.from({ length: n }, (_, i) => i + 1).join('\n');
    }
    gutter.scrollTop = textarea.scrollTop;
  }

  function updateCursor() {
    const before = textarea.value.slice(0, textarea.selectionStart);
    const line = before.split('\n').length;
    const col = before.length - before.lastIndexOf('\n');
    cursor.textContent = `Line ${line}, column ${col}`;
  }

  function updateModified() {
    const dirty = current !== null && textarea.value !== original;
    modified.textContent = dirty ? 'Modified — not saved' : '';
    revertBtn.disabled = !dirty;
    saveBtn.disabled = !ctx.admin || current === null;
  }

  textarea.addEventListener('input', () => { updateGutter(); updateCursor(); updateModified(); });
  textarea.addEventListener('scroll', () => { gutter.scrollTop = textarea.scrollTop; });
  for (const ev of ['keyup', 'click', 'select', 'focus']) textarea.addEventListener(ev, updateCursor);
  textarea.addEventListener('keydown', (e) => {
    // Tab inserts 4 spaces; Escape then Tab leaves the editor (keyboard users are not trapped).
    if (e.key === 'Tab' && !e.shiftKey && !textarea.readOnly && !textarea.dataset.escaped) {
      e.preventDefault();
      textarea.setRangeText('    ', textarea.selectionStart, textarea.selectionEnd, 'end');
      updateGutter(); updateModified();
    }
    if (e.key === 'Escape') textarea.dataset.escaped = '1';
    else if (e.key !== 'Tab') delete textarea.dataset.escaped;
  });

  /** Moves the cursor to `line`:`col` (1-based) and scrolls it into view. */
  function jumpTo(line, col) {
    const lines = textarea.value.split('\n');
    const l = Math.min(Math.max(1, line || 1), lines.length);
    let offset = 0;
    for (let i = 0; i < l - 1; i++) offset += lines[i].length + 1;
    offset += Math.min(Math.max(0, (col || 1) - 1), lines[l - 1].length);
    textarea.focus();
    textarea.setSelectionRange(offset, offset);
    const lh = parseFloat(getComputedStyle(textarea).lineHeight) || 20;
    textarea.scrollTop = Math.max(0, (l - 1) * lh - textarea.clientHeight / 3);
    gutter.scrollTop = textarea.scrollTop;
    updateCursor();
  }

  function showErrors(errors) {
    errorsHeading.hidden = errors.length === 0;
    replace(errorList, errors.map((err) => {
      const where = `${err.file || current}:${err.line ?? '?'}:${err.col ?? '?'}`;
      const here = !err.file || err.file === current;
      return h('li', {}, here
        ? h('button', {
          type: 'button', 'data-testid': 'dialplan-error', 'data-line': err.line, 'data-col': err.col,
          on: { click: () => jumpTo(err.line, err.col) },
        }, `Line ${err.line}, column ${err.col}: ${err.message}`)
        : h('span', { 'data-testid': 'dialplan-error', 'data-file': err.file, 'data-line': err.line, 'data-col': err.col, class: 'error-text', text: `${where}: ${err.message}` }));
    }));
  }

  function errorsOf(e) {
    const d = e.detail;
    if (d && Array.isArray(d.errors)) return d.errors;
    return null;
  }

  validateBtn.addEventListener('click', async () => {
    if (current === null) return;
    say(h('p', { class: 'muted', text: 'Validating…' }));
    try {
      const res = await api('POST', '/dialplan/validate', { name: current, content: textarea.value });
      const errors = res.errors || [];
      showErrors(errors);
      say(res.ok && errors.length === 0
        ? h('p', { class: 'alert alert-ok', role: 'status', 'data-testid': 'dialplan-valid' }, 'The dialplan is valid.')
        : h('p', { class: 'alert alert-error', role: 'alert' }, `${errors.length} error${errors.length === 1 ? '' : 's'} found. Select one to go to its line.`));
    } catch (e) {
      const errors = errorsOf(e);
      if (errors) showErrors(errors);
      say(errorBox(forbidden(e)));
    }
  });

  function forbidden(e) {
    return e.status === 403 ? `Not allowed (403): your role (${ctx.me.role}) cannot change the dialplan. ${typeof e.detail === 'string' ? e.detail : ''}` : e;
  }

  saveBtn.addEventListener('click', async () => {
    if (current === null) return;
    await busy(saveBtn.parentElement, async () => {
      try {
        const res = await api('PUT', `/dialplan/files/${encodeURIComponent(current)}`, { content: textarea.value });
        original = textarea.value;
        showErrors([]);
        say(h('p', { class: 'alert alert-ok', role: 'status', 'data-testid': 'dialplan-saved' },
          `Saved and reloaded${res && res.generation != null ? ` (generation ${res.generation})` : ''}.`));
        loadInfo();
      } catch (e) {
        const errors = errorsOf(e);
        if (errors) {
          showErrors(errors);
          say(h('div', { class: 'alert alert-error', role: 'alert', 'data-testid': 'dialplan-rejected' },
            h('p', { text: `Not saved: ${errors.length} error${errors.length === 1 ? '' : 's'}. Select one to go to its line.` }),
            h('p', { text: 'The running dialplan was kept unchanged.' })));
        } else say(errorBox(forbidden(e), 'dialplan-save-error'));
      }
    });
    updateModified();
  });

  revertBtn.addEventListener('click', () => {
    textarea.value = original;
    updateGutter(); updateCursor(); updateModified(); showErrors([]); say(null);
  });

  deleteBtn?.addEventListener('click', async () => {
    if (current === null) return;
    if (!(await confirmAction(`Delete the dialplan file ${current}? The dialplan is reloaded without it.`, 'Delete'))) return;
    try {
      await api('DELETE', `/dialplan/files/${encodeURIComponent(current)}`);
      toast(`${current} deleted.`);
      current = null;
      ctx.navigate('/ui/dialplan', { replace: true });
    } catch (e) {
      const errors = errorsOf(e);
      if (errors) showErrors(errors);
      say(errorBox(forbidden(e)));
    }
  });

  newForm?.addEventListener('submit', async (e) => {
    e.preventDefault();
    const name = newName.value.trim();
    if (!NAME_RE.test(name)) { say(errorBox('The file name must be letters, digits, _ . - and end in .conf')); newName.focus(); return; }
    try {
      await api('POST', '/dialplan/files', { name, content: '' });
      toast(`${name} created.`);
      newName.value = '';
      ctx.navigate(`/ui/dialplan/${encodeURIComponent(name)}`);
    } catch (err) { say(errorBox(forbidden(err))); }
  });

  async function open(name) {
    if (current !== null && textarea.value !== original && name !== current) {
      if (!(await confirmAction(`Discard the unsaved changes to ${current}?`, 'Discard'))) return false;
    }
    try {
      const file = await get(`/dialplan/files/${encodeURIComponent(name)}`);
      current = file.name || name;
      original = file.content || '';
      textarea.value = original;
      textarea.disabled = false;
      validateBtn.disabled = false;
      if (deleteBtn) deleteBtn.disabled = false;
      title.textContent = current;
      ctx.setTitle(`Dialplan ${current}`);
      for (const b of fileList.querySelectorAll('button')) {
        if (b.dataset.file === current) b.setAttribute('aria-current', 'true'); else b.removeAttribute('aria-current');
        b.setAttribute('aria-pressed', String(b.dataset.file === current));
      }
      lineCount = 0;
      updateGutter(); updateModified(); showErrors([]); say(null);
      textarea.setSelectionRange(0, 0);
      textarea.scrollTop = 0;
      updateCursor();
      return true;
    } catch (e) {
      say(errorBox(e));
      return false;
    }
  }

  async function loadInfo() {
    const d = await get('/dialplan');
    files = (d.files || []).slice().sort((a, b) => a.name.localeCompare(b.name));
    replace(info, `Directory `, h('code', { text: d.dir || '' }), ` · generation ${d.generation ?? '—'} · ${d.contexts ?? '—'} contexts · ${d.extensions ?? '—'} extensions`);
    replace(fileList, files.length ? files.map((f) => h('li', {}, h('button', {
      type: 'button', 'data-file': f.name, 'data-testid': 'dialplan-file', 'aria-pressed': String(f.name === current),
      title: `${fmtBytes(f.size)}, changed ${fmtDateTime(f.modified_ms)}`,
      on: { click: () => { if (f.name !== current) ctx.navigate(`/ui/dialplan/${encodeURIComponent(f.name)}`); } },
    }, f.name))) : h('li', { class: 'muted', text: 'No files.' }));
  }

  try {
    await loadInfo();
  } catch (e) {
    say(errorBox(e));
    return undefined;
  }
  const wanted = ctx.params.file || (files[0] && files[0].name);
  if (wanted) await open(wanted);
  const guard = (e) => { if (current !== null && textarea.value !== original) { e.preventDefault(); e.returnValue = ''; } };
  window.addEventListener('beforeunload', guard);
  return () => window.removeEventListener('beforeunload', guard);
}
