// The app shell: loads the caller (/api/v1/me), then routes with the History API under
// /ui/. Each page is an ES module whose default export `mount(main, ctx)` draws the page
// into <main> and may return a cleanup function (closing sockets, timers) that runs when
// the user leaves the page.
import { api, loadMe, toLogin } from './api.js';
import { h, replace, errorBox, toast } from './ui.js';

const routes = [
  { re: /^$/, page: 'dashboard', title: 'Dashboard', nav: 'dashboard' },
  { re: /^extensions$/, page: 'extensions', title: 'Extensions', nav: 'extensions' },
  { re: /^gateways$/, page: 'gateways', title: 'Gateways', nav: 'gateways' },
  { re: /^dialplan(?:\/([A-Za-z0-9_.-]+))?$/, page: 'dialplan', title: 'Dialplan', nav: 'dialplan', params: ['file'] },
  { re: /^cdr$/, page: 'cdr', title: 'Call records', nav: 'cdr' },
  { re: /^cdr\/call\/([^/]+)$/, page: 'call', title: 'Call detail', nav: 'cdr', params: ['linkedid'] },
  { re: /^reports$/, page: 'reports', title: 'Reports', nav: 'reports' },
  { re: /^admin$/, page: 'admin', title: 'Accounts & audit', nav: 'admin' },
];

const main = document.getElementById('main');
let me = null;
let cleanup = null;
let generation = 0;

function match(pathname) {
  const rest = pathname.replace(/^\/ui\/?/, '').replace(/\/$/, '');
  for (const r of routes) {
    const m = rest.match(r.re);
    if (m) {
      const params = {};
      (r.params || []).forEach((name, i) => {
        if (m[i + 1] !== undefined) params[name] = decodeURIComponent(m[i + 1]);
      });
      return { route: r, params };
    }
  }
  return null;
}

/** Goes to `path` (under /ui/) without reloading; `replace` keeps the history entry. */
export function navigate(path, { replace: replaceEntry = false } = {}) {
  if (replaceEntry) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  render();
}

function markNav(name) {
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.testid === `nav-${name}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

async function render() {
  const mine = ++generation;
  if (cleanup) {
    try { cleanup(); } catch (e) { console.error(e); }
    cleanup = null;
  }
  closeNav();
  const found = match(location.pathname);
  if (!found) {
    markNav('');
    document.title = 'Not found · switchboard';
    replace(main, h('h1', { text: 'Page not found' }),
      h('p', {}, 'There is no page at ', h('code', { text: location.pathname }), '. ',
        h('a', { href: '/ui/', 'data-link': true }, 'Back to the dashboard.')));
    focusHeading();
    return;
  }
  const { route, params } = found;
  markNav(route.nav);
  document.title = `${route.title} · switchboard`;
  main.setAttribute('aria-busy', 'true');
  try {
    const module = await import(`./pages/${route.page}.js`);
    if (mine !== generation) return;
    replace(main);
    const ctx = {
      me,
      admin: me.role === 'admin',
      params,
      query: new URLSearchParams(location.search),
      navigate,
      setTitle: (t) => { document.title = `${t} · switchboard`; },
    };
    const result = await module.default(main, ctx);
    if (mine !== generation) {
      if (typeof result === 'function') result();
      return;
    }
    cleanup = typeof result === 'function' ? result : null;
  } catch (e) {
    if (mine !== generation) return;
    console.error(e);
    replace(main, h('h1', { text: route.title }), errorBox(e, 'page-error'));
  } finally {
    if (mine === generation) main.removeAttribute('aria-busy');
  }
  if (mine === generation) focusHeading();
}

let firstRender = true;
function focusHeading() {
  // After a navigation (not the first load) move focus to the page's heading, so a screen
  // reader user hears where they are.
  if (firstRender) { firstRender = false; return; }
  const h1 = main.querySelector('h1');
  if (h1) { h1.setAttribute('tabindex', '-1'); h1.focus({ preventScroll: false }); }
}

const navToggle = document.getElementById('nav-toggle');
const nav = document.getElementById('nav');
function closeNav() {
  navToggle.setAttribute('aria-expanded', 'false');
  nav.classList.remove('open');
}
navToggle.addEventListener('click', () => {
  const open = navToggle.getAttribute('aria-expanded') !== 'true';
  navToggle.setAttribute('aria-expanded', String(open));
  nav.classList.toggle('open', open);
  if (open) nav.querySelector('a')?.focus();
});
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && nav.classList.contains('open')) { closeNav(); navToggle.focus(); }
});

// In-app links: any <a> to /ui/... without a target or modifier keys.
document.addEventListener('click', (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = e.target.closest('a');
  if (!a || a.target || a.hasAttribute('download')) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !(url.pathname === '/ui' || url.pathname.startsWith('/ui/'))) return;
  e.preventDefault();
  if (url.pathname + url.search !== location.pathname + location.search) navigate(url.pathname + url.search);
});
window.addEventListener('popstate', render);

document.getElementById('logout').addEventListener('click', async () => {
  try { await api('POST', '/logout'); } catch (e) { if (e.status !== 401) toast(e.message, 'error'); }
  location.assign('/login');
});

async function start() {
  try {
    me = await loadMe();
  } catch (e) {
    if (e.status === 401) { toLogin(); return; }
    replace(main, h('h1', { text: 'switchboard' }), errorBox(e));
    return;
  }
  document.getElementById('user-name').textContent = me.name;
  const role = document.getElementById('user-role');
  role.textContent = me.role;
  role.className = `badge badge-${me.role === 'admin' ? 'info' : 'muted'}`;
  document.body.classList.toggle('role-viewer', me.role !== 'admin');
  render();
}

start();
