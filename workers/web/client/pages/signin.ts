/** Sign-in: checks the token against the API before keeping it, then returns to where the creator was going. */
import { api, ApiFailure, clearToken, errorMessage, setToken } from '../lib/api';
import { initChrome } from '../lib/chrome';
import { announce, byId } from '../lib/dom';

const params = new URLSearchParams(location.search);
const reason = byId('signin-reason');
if (params.get('reason') === 'expired') {
  reason.textContent = 'Your sign-in has expired or the token is no longer valid. Sign in again to continue.';
  reason.hidden = false;
} else if (params.get('reason') === 'missing') {
  reason.textContent = 'Sign in to continue.';
  reason.hidden = false;
}

/** Only same-site paths: `next` comes from the URL and must not send the creator to another site. */
function safeNext(value: string | null): string {
  return value && value.startsWith('/') && !value.startsWith('//') ? value : '/library';
}

const form = byId<HTMLFormElement>('signin-form');
const input = byId<HTMLInputElement>('token');
const status = byId('signin-status');
initChrome();
input.focus();

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const token = input.value.trim();
  if (!token) {
    announce(status, 'Paste your API token.', 'error');
    input.focus();
    return;
  }
  announce(status, 'Checking…');
  setToken(token);
  try {
    await api('/v1/videos?limit=1');
    location.assign(safeNext(params.get('next')));
  } catch (err) {
    clearToken();
    const message = err instanceof ApiFailure && err.isAuth ? 'That token was not accepted. Check it and try again.' : errorMessage(err);
    announce(status, message, 'error');
    input.focus();
  }
});
