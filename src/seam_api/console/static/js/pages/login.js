// Sign in through /auth/login; the server's 401 and 429 messages are shown as they come. An
// account with a second factor answers an MFA token instead: the code step follows.
import { request } from '../api.js';
import { t } from '../i18n.js';
import { html, useState, useStore } from '../lib.js';
import { Preferences } from '../preferences.js';
import { endedBecause } from '../session.js';
import { startSession } from '../tokens.js';
import { Field, FormError, useForm } from '../ui.js';
import { ForgotPassword } from './reset.js';

export function LoginPage() {
  const [mfaToken, setMfaToken] = useState(null);
  const ended = useStore(endedBecause);
  return html`<main class="login" id="main">
    <div class="card">
      <div class="login-head">
        <h1 id="login-title">${t('login.title')}</h1>
        <${Preferences} />
      </div>
      ${ended && html`<p class="notice" role="status">${t('login.ended', { reason: ended })}</p>`}
      ${mfaToken
        ? html`<${CodeStep} mfaToken=${mfaToken} onRestart=${() => setMfaToken(null)} />`
        : html`<${PasswordStep} onMfa=${setMfaToken} />`}
      ${mfaToken ? null : html`<${ForgotPassword} />`}
    </div>
  </main>`;
}

function PasswordStep({ onMfa }) {
  const form = useForm({ email: '', password: '' });
  const signIn = async ({ email, password }) => {
    endedBecause.set(null);
    const { data } = await request('POST', '/auth/login', { email, password });
    if (data.mfaRequired) onMfa(data.mfaToken);
    else startSession(data);
  };
  return html`<form onSubmit=${form.submit(signIn)} aria-labelledby="login-title">
    <${Field} label=${t('field.email')} name="email" type="email" autocomplete="username"
      required value=${form.values.email} onInput=${form.set('email')}
      error=${form.fieldError('email')} />
    <${Field} label=${t('field.password')} name="password" type="password"
      autocomplete="current-password" required value=${form.values.password}
      onInput=${form.set('password')} error=${form.fieldError('password')} />
    <${FormError} failure=${form.failure} />
    <button type="submit" class="primary" disabled=${form.busy}>${t('login.submit')}</button>
  </form>`;
}

/** The second step: a code from the authenticator app, or a recovery code. */
function CodeStep({ mfaToken, onRestart }) {
  const form = useForm({ code: '' });
  const verify = async ({ code }) => {
    const { data } = await request('POST', '/auth/login/mfa', { mfaToken, code: code.trim() });
    startSession(data);
  };
  return html`<form onSubmit=${form.submit(verify)} aria-labelledby="login-title">
    <p>${t('login.mfa_text')}</p>
    <${Field} label=${t('field.code')} name="code" autocomplete="one-time-code" required
      value=${form.values.code} onInput=${form.set('code')} error=${form.fieldError('code')} />
    <${FormError} failure=${form.failure} />
    <div class="actions">
      <button type="button" onClick=${onRestart}>${t('login.mfa_restart')}</button>
      <button type="submit" class="primary" disabled=${form.busy}>${t('login.mfa_submit')}</button>
    </div>
  </form>`;
}
