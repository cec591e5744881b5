// Sign in through /auth/login; the server's 401 and 429 messages are shown as they come.
import { request } from '../api.js';
import { t } from '../i18n.js';
import { html, useStore } from '../lib.js';
import { Preferences } from '../preferences.js';
import { endedBecause, session } from '../session.js';
import { Field, FormError, useForm } from '../ui.js';
import { ForgotPassword } from './reset.js';

export function LoginPage() {
  const form = useForm({ email: '', password: '' });
  const ended = useStore(endedBecause);
  const signIn = async ({ email, password }) => {
    endedBecause.set(null);
    const { data } = await request('POST', '/auth/login', { email, password });
    session.set({
      token: data.token,
      user: data.user,
      permissions: data.permissions,
      sidebarItems: data.sidebarItems,
    });
  };
  return html`<main class="login" id="main">
    <form class="card" onSubmit=${form.submit(signIn)} aria-labelledby="login-title">
      <div class="login-head">
        <h1 id="login-title">${t('login.title')}</h1>
        <${Preferences} />
      </div>
      ${ended && html`<p class="notice" role="status">${t('login.ended', { reason: ended })}</p>`}
      <${Field} label=${t('field.email')} name="email" type="email" autocomplete="username"
        required value=${form.values.email} onInput=${form.set('email')}
        error=${form.fieldError('email')} />
      <${Field} label=${t('field.password')} name="password" type="password"
        autocomplete="current-password" required value=${form.values.password}
        onInput=${form.set('password')} error=${form.fieldError('password')} />
      <${FormError} failure=${form.failure} />
      <button type="submit" class="primary" disabled=${form.busy}>${t('login.submit')}</button>
    </form>
    <${ForgotPassword} />
  </main>`;
}
