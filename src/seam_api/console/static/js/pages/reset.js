// Passwords by email: "Forgot password?" on the sign-in page (offered only when the server can
// send mail), and the page an emailed link opens (/admin/reset#token=…) to set a new password,
// for a reset or an invitation alike. The token travels in the fragment, so it never reaches a
// server log; it is taken off the address bar as soon as the page has read it.
import { api, ApiError, request } from '../api.js';
import { t } from '../i18n.js';
import { html, useEffect, useState } from '../lib.js';
import { Preferences } from '../preferences.js';
import { navigate } from '../route.js';
import { Field, FormError, useForm } from '../ui.js';

export const RESET_PATH = '/admin/reset';

/** The "Forgot password?" button and its form; nothing when mail is not configured. */
export function ForgotPassword() {
  const [offered, setOffered] = useState(false);
  const [open, setOpen] = useState(false);
  const [sent, setSent] = useState(null);
  const form = useForm({ email: '' });
  useEffect(() => {
    api('GET', '/auth/password/options')
      .then((options) => setOffered(Boolean(options?.resetByEmail)))
      .catch(() => setOffered(false));
  }, []);
  if (!offered) return null;
  if (!open) {
    return html`<p class="forgot"><button type="button" onClick=${() => setOpen(true)}>
      ${t('forgot.link')}</button></p>`;
  }
  // The server answers the same whether or not the account exists: so does this form.
  const send = async ({ email }) => {
    const { message } = await request('POST', '/auth/password/forgot', { email });
    setSent(message);
  };
  return html`<form class="card" onSubmit=${form.submit(send)} aria-labelledby="forgot-title">
    <h2 id="forgot-title">${t('forgot.title')}</h2>
    ${sent ? html`<p class="notice" role="status">${sent}</p>` : html`
      <p class="muted">${t('forgot.text')}</p>
      <${Field} label=${t('forgot.email')} name="forgot-email" type="email"
        autocomplete="username" required value=${form.values.email}
        onInput=${form.set('email')} error=${form.fieldError('email')} />
      <${FormError} failure=${form.failure} />
      <button type="submit" class="primary" disabled=${form.busy}>${t('forgot.submit')}</button>`}
  </form>`;
}

function tokenFromAddress() {
  return new URLSearchParams(window.location.hash.slice(1)).get('token') ?? '';
}

/** /admin/reset: choose a new password with the emailed link's token. */
export function ResetPage() {
  const [token] = useState(tokenFromAddress);
  const [done, setDone] = useState(null);
  const form = useForm({ password: '', confirm: '' });
  useEffect(() => {
    if (window.location.hash) window.history.replaceState(null, '', RESET_PATH);
  }, []);
  const save = async ({ password, confirm }) => {
    if (password !== confirm) {
      const message = t('reset.mismatch');
      throw new ApiError(400, { message, errors: [{ field: 'confirm', message }] });
    }
    const { message } = await request('POST', '/auth/password/reset', { token, password });
    setDone(message);
  };
  const toSignIn = html`<button type="button" class="primary"
    onClick=${() => navigate('/admin')}>${t('reset.sign_in')}</button>`;
  let body;
  if (done) body = html`<p class="notice" role="status">${done}</p>${toSignIn}`;
  else if (!token) body = html`<p class="error" role="alert">${t('reset.no_token')}</p>${toSignIn}`;
  else {
    body = html`<form onSubmit=${form.submit(save)}>
      <p class="muted">${t('reset.text')}</p>
      <${Field} label=${t('reset.password')} name="password" type="password"
        autocomplete="new-password" required value=${form.values.password}
        onInput=${form.set('password')} error=${form.fieldError('password')} />
      <${Field} label=${t('reset.confirm')} name="confirm" type="password"
        autocomplete="new-password" required value=${form.values.confirm}
        onInput=${form.set('confirm')} error=${form.fieldError('confirm')} />
      <${FormError} failure=${form.failure} />
      <button type="submit" class="primary" disabled=${form.busy}>${t('reset.submit')}</button>
    </form>`;
  }
  return html`<main class="login" id="main">
    <section class="card" aria-labelledby="reset-title">
      <div class="login-head">
        <h1 id="reset-title">${t('reset.title')}</h1>
        <${Preferences} />
      </div>
      ${body}
    </section>
  </main>`;
}
