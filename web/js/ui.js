// Small DOM helpers shared by the pages: an element builder, formatting, announcements,
// the confirm dialog, tables that scroll on a phone, and error boxes.

/**
 * Builds an element. `props`: `class`, `text`, `html` is NOT supported (no innerHTML with
 * data), `on: {event: fn}`, `dataset`-like keys written as attributes (`data-*`, `aria-*`,
 * `id`, `for`, `type`, ...); boolean `true` sets an empty attribute, false/null skips it.
 * Properties such as `value`, `checked`, `disabled`, `readOnly` are set as properties.
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (['value', 'checked', 'disabled', 'readOnly', 'selected', 'hidden', 'open'].includes(k)) el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Empties `el` and fills it with `children`. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A date and time in the browser's zone, e.g. 2026-11-23 14:05:09. */
export function fmtDateTime(ms) {
  if (ms === null || ms === undefined || ms === '') return '';
  const d = new Date(Number(ms));
  if (Number.isNaN(d.getTime())) return String(ms);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** A duration in seconds as h:mm:ss or m:ss. */
export function fmtDuration(secs) {
  if (secs === null || secs === undefined || Number.isNaN(Number(secs))) return '';
  const s = Math.max(0, Math.floor(Number(secs)));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return hh ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

/** A byte count as B/KiB/MiB/GiB. */
export function fmtBytes(n) {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = Number(n);
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${i ? v.toFixed(1) : v} ${units[i]}`;
}

/** A Date as the value of an <input type=datetime-local> (local time, minutes). */
export function toLocalInput(date) {
  const p = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())}T${p(date.getHours())}:${p(date.getMinutes())}`;
}

/** Minutes east of UTC of the browser's zone (the API's tz_offset_min). */
export function tzOffsetMin() {
  return -new Date().getTimezoneOffset();
}

/** Says `text` politely to screen readers (the shared aria-live region). */
export function announce(text) {
  const region = document.getElementById('announcer');
  if (!region) return;
  region.textContent = '';
  // A new text node after a tick, so the same message is announced again.
  setTimeout(() => { region.textContent = text; }, 50);
}

let toastTimer = null;
/** A short status message (role=status), hidden after a while. */
export function toast(text, kind = 'ok') {
  const el = document.getElementById('toast');
  if (!el) return;
  el.textContent = text;
  el.className = `toast toast-${kind}`;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, 5000);
}

/** Asks to confirm `text` in a modal dialog; resolves true when confirmed. */
export function confirmAction(text, okLabel = 'Confirm') {
  const dialog = document.getElementById('confirm-dialog');
  if (!dialog || typeof dialog.showModal !== 'function') return Promise.resolve(window.confirm(text));
  document.getElementById('confirm-text').textContent = text;
  document.getElementById('confirm-ok').textContent = okLabel;
  dialog.returnValue = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
    dialog.showModal();
    document.getElementById('confirm-ok').focus();
  });
}

/** An alert box with an error's message (role=alert, so it is read at once). */
export function errorBox(err, testid = 'error') {
  return h('div', { class: 'alert alert-error', role: 'alert', 'data-testid': testid },
    err && err.message ? err.message : String(err));
}

/** A page heading with optional controls on the right. */
export function pageHeader(title, ...controls) {
  return h('div', { class: 'page-head' }, h('h1', { text: title }), h('div', { class: 'page-actions' }, controls));
}

/**
 * A table inside a horizontally scrollable, labelled region.
 * `columns`: header labels; returns {wrap, table, tbody}.
 */
export function dataTable(caption, columns, testid) {
  const tbody = h('tbody');
  const table = h('table', { class: 'data', 'data-testid': testid },
    h('caption', { class: 'visually-hidden', text: caption }),
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', text: c })))),
    tbody);
  const wrap = h('div', { class: 'table-wrap', role: 'region', 'aria-label': caption, tabindex: '0' }, table);
  return { wrap, table, tbody };
}

/** A row saying the table is empty, spanning `n` columns. */
export function emptyRow(n, text = 'Nothing here yet.') {
  return h('tr', { class: 'empty' }, h('td', { colspan: String(n), text }));
}

/** A labelled form field: label + control (+ optional hint). */
export function field(label, control, hint) {
  const id = control.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  control.id = id;
  const hintEl = hint ? h('small', { class: 'hint', id: `${id}-hint`, text: hint }) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: id, text: label }), control, hintEl);
}

/** A secret shown once (generated password, API token) with a copy button. */
export function secretBox(label, value, testid) {
  const code = h('code', { class: 'secret', 'data-testid': testid, text: value });
  const copy = h('button', {
    type: 'button',
    on: {
      click: async () => {
        try { await navigator.clipboard.writeText(value); toast('Copied to the clipboard.'); }
        catch { toast('Copy failed: select the text and copy it.', 'error'); }
      },
    },
  }, 'Copy');
  return h('div', { class: 'alert alert-secret', role: 'status' },
    h('p', {}, h('strong', { text: label }), ' It is shown only this once.'), h('p', {}, code, ' ', copy));
}

/** A small coloured badge; `kind` picks the colour (ok, warn, bad, info, muted). */
export function badge(text, kind = 'muted', testid) {
  return h('span', { class: `badge badge-${kind}`, 'data-testid': testid, text });
}

/** Disables a form's controls while `fn` runs; returns its result. */
export async function busy(form, fn) {
  const controls = [...form.querySelectorAll('button, input, select, textarea')].filter((c) => !c.disabled);
  controls.forEach((c) => { c.disabled = true; });
  try { return await fn(); } finally { controls.forEach((c) => { c.disabled = false; }); }
}

/**
 * Loads the SVG chart at `url` into `img` (fetched, so a refresh is never served from the
 * image cache and an API error is shown instead of a broken image). `fallbackAlt` replaces
 * the alt text when the chart cannot be had.
 */
export async function loadSvg(img, url, fallbackAlt = 'The chart is not available.') {
  try {
    const res = await fetch(url, { cache: 'no-store', credentials: 'same-origin' });
    if (!res.ok) {
      let why = `HTTP ${res.status}`;
      try { const d = await res.json(); why = d.detail ? `${d.error}: ${typeof d.detail === 'string' ? d.detail : JSON.stringify(d.detail)}` : d.error; } catch { /* not JSON */ }
      throw new Error(why);
    }
    const blob = await res.blob();
    const old = img.dataset.blob;
    const src = URL.createObjectURL(blob);
    img.dataset.blob = src;
    img.src = src;
    img.dataset.url = url;
    img.classList.remove('broken');
    if (old) setTimeout(() => URL.revokeObjectURL(old), 1000);
  } catch (e) {
    img.removeAttribute('src');
    img.alt = `${fallbackAlt} (${e.message})`;
    img.classList.add('broken');
  }
}

/** After a 422 naming a field, moves focus to the control of `form` with that name. */
export function focusField(form, err) {
  const name = err && err.detail && typeof err.detail === 'object' ? err.detail.field : null;
  if (!name || !form) return;
  const control = form.elements.namedItem(name);
  if (control && typeof control.focus === 'function') {
    control.setAttribute('aria-invalid', 'true');
    // After busy() has enabled the form again.
    setTimeout(() => control.focus(), 0);
    control.addEventListener('input', () => control.removeAttribute('aria-invalid'), { once: true });
  }
}
