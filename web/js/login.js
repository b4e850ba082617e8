// The login page: posts {name, password} as JSON to /api/v1/login, then goes to `next`
// (a path inside /ui/ only).
import { describe } from './api.js';

function safeNext() {
  const next = new URLSearchParams(location.search).get('next') || '/ui/';
  return (next === '/ui' || next.startsWith('/ui/')) && !next.includes('//') && !next.includes('\\')
    ? next : '/ui/';
}

const form = document.getElementById('login-form');
const error = document.getElementById('login-error');
const submit = document.getElementById('login-submit');

function showError(message) {
  error.textContent = message;
  error.hidden = false;
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  error.hidden = true;
  const name = form.elements.name.value.trim();
  const password = form.elements.password.value;
  if (!name || !password) {
    showError('Enter your account name and password.');
    (name ? form.elements.password : form.elements.name).focus();
    return;
  }
  submit.disabled = true;
  submit.textContent = 'Signing in…';
  try {
    const res = await fetch('/api/v1/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ name, password }),
      credentials: 'same-origin',
    });
    if (res.ok) {
      location.assign(safeNext());
      return;
    }
    let data = null;
    try { data = await res.json(); } catch { /* not JSON */ }
    if (res.status === 401) showError('Wrong name or password.');
    else if (res.status === 429) {
      const secs = (data && data.detail && data.detail.retry_after_secs) || res.headers.get('Retry-After');
      showError(`Too many failed sign-ins. Try again in ${secs || 'a few'} seconds.`);
    } else showError(data ? describe(data.error, data.detail) : `Sign-in failed (HTTP ${res.status}).`);
    form.elements.password.select();
  } catch {
    showError('The server could not be reached.');
  } finally {
    submit.disabled = false;
    submit.textContent = 'Sign in';
  }
});
