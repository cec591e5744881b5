// My account: every signed-in user's own page, built of sections (profile, password, second
// factor, sessions). Add a section by adding it to ACCOUNT_SECTIONS. The password and
// second-factor sections also stand alone while a sign-in is restricted to them.
import { api } from '../api.js';
import { ApiKeysSection } from './account-keys.js';
import { t } from '../i18n.js';
import { connect } from '../live.js';
import { html, useState } from '../lib.js';
import { session, updateSession } from '../session.js';
import { tokenFields } from '../tokens.js';
import {
  attempt, ErrorLine, Field, FormError, Moment, PageHead, Table, touches, useForm, useLiveData,
} from '../ui.js';

/** One titled part of the account page. */
export function Section({ id, title, children }) {
  return html`<section class="account-section card" aria-labelledby=${id}>
    <h2 id=${id}>${title}</h2>
    ${children}
  </section>`;
}

function ProfileSection() {
  const user = session.get().user;
  const form = useForm({ full_name: user.full_name });
  const [saved, setSaved] = useState(false);
  const save = async ({ full_name }) => {
    setSaved(false);
    updateSession({ user: await api('PUT', '/auth/me', { full_name }) });
    setSaved(true);
  };
  return html`<${Section} id="account-profile" title=${t('account.profile')}>
    <form onSubmit=${form.submit(save)}>
      <p class="muted">${user.email} · ${user.roleName}</p>
      <${Field} label=${t('field.full_name')} name="full_name" required value=${form.values.full_name}
        onInput=${form.set('full_name')} error=${form.fieldError('full_name')} />
      <${FormError} failure=${form.failure} />
      ${saved && html`<p class="muted" role="status">${t('account.saved')}</p>`}
      <div class="actions"><button type="submit" class="primary" disabled=${form.busy}>
        ${t('action.save')}</button></div>
    </form>
  <//>`;
}

/** Change the password; the answer's fresh tokens replace this tab's (other sessions end). */
export function PasswordSection({ onChanged }) {
  const form = useForm({ currentPassword: '', newPassword: '' });
  const [changed, setChanged] = useState(false);
  const change = async (values) => {
    const data = await api('PUT', '/auth/password', values);
    updateSession({ ...tokenFields(data), mustChangePassword: false });
    form.setValues({ currentPassword: '', newPassword: '' });
    setChanged(true);
    if (onChanged) await onChanged();
    else connect(); // the server closed this tab's socket with the old token
  };
  return html`<${Section} id="account-password" title=${t('account.password')}>
    <form onSubmit=${form.submit(change)}>
      <${Field} label=${t('account.current_password')} name="currentPassword" type="password"
        autocomplete="current-password" required value=${form.values.currentPassword}
        onInput=${form.set('currentPassword')} error=${form.fieldError('currentPassword')} />
      <${Field} label=${t('account.new_password')} name="newPassword" type="password"
        autocomplete="new-password" required value=${form.values.newPassword}
        onInput=${form.set('newPassword')} error=${form.fieldError('newPassword')} />
      <${FormError} failure=${form.failure} />
      ${changed && html`<p class="muted" role="status">${t('account.password_changed')}</p>`}
      <div class="actions"><button type="submit" class="primary" disabled=${form.busy}>
        ${t('account.change_password')}</button></div>
    </form>
  <//>`;
}

/** Two-factor authentication: enrol (QR code, then a code), recovery codes once, turn off. */
export function MfaSection({ onEnabled }) {
  const me = useLiveData(() => api('GET', '/auth/me'), touches('mfa'), [], { own: true });
  const [enrolment, setEnrolment] = useState(null);
  const [codes, setCodes] = useState(null);
  const start = () => attempt(async () => setEnrolment(await api('POST', '/auth/mfa/totp')));
  const finished = async () => {
    setCodes(null);
    if (onEnabled) await onEnabled();
  };
  let body;
  if (codes) body = html`<${RecoveryCodes} codes=${codes} onDone=${finished} />`;
  else if (enrolment) {
    body = html`<${Enrolment} enrolment=${enrolment} onConfirmed=${(recovery) => {
      setEnrolment(null);
      setCodes(recovery);
      me.reload();
    }} onCancel=${() => setEnrolment(null)} />`;
  } else if (me.data?.mfaEnabled) body = html`<${DisableMfa} onDone=${me.reload} />`;
  else if (me.data) {
    body = html`<p>${t('account.mfa_off')}</p>
      <div class="actions"><button type="button" class="primary" onClick=${start}>
        ${t('account.mfa_set_up')}</button></div>`;
  }
  return html`<${Section} id="account-mfa" title=${t('account.mfa')}>
    <${ErrorLine} text=${me.error} />
    ${body}
  <//>`;
}

function Enrolment({ enrolment, onConfirmed, onCancel }) {
  const form = useForm({ code: '' });
  const confirm = async ({ code }) => {
    const data = await api('POST', '/auth/mfa/totp/confirm', { code: code.trim() });
    onConfirmed(data.recoveryCodes);
  };
  const qr = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(enrolment.qrSvg)}`;
  return html`<form onSubmit=${form.submit(confirm)}>
    <p>${t('account.mfa_scan')}</p>
    <img class="qr" src=${qr} alt=${t('account.mfa_qr')} width="200" height="200" />
    <p class="muted">${t('account.mfa_key')} <code class="secret" data-testid="mfa-secret">${enrolment.secret}</code></p>
    <${Field} label=${t('field.code')} name="code" autocomplete="one-time-code" required
      value=${form.values.code} onInput=${form.set('code')} error=${form.fieldError('code')} />
    <${FormError} failure=${form.failure} />
    <div class="actions">
      <button type="button" onClick=${onCancel}>${t('action.cancel')}</button>
      <button type="submit" class="primary" disabled=${form.busy}>${t('account.mfa_confirm')}</button>
    </div>
  </form>`;
}

/** The ten recovery codes, shown this once. */
function RecoveryCodes({ codes, onDone }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    await navigator.clipboard.writeText(codes.join('\n'));
    setCopied(true);
  };
  return html`<div>
    <p>${t('account.mfa_codes')}</p>
    <ul class="recovery-codes" data-testid="recovery-codes">
      ${codes.map((code) => html`<li key=${code}><code>${code}</code></li>`)}
    </ul>
    <div class="actions">
      <button type="button" onClick=${copy}>${copied ? t('action.copied') : t('action.copy')}</button>
      <button type="button" class="primary" onClick=${onDone}>${t('action.done')}</button>
    </div>
  </div>`;
}

function DisableMfa({ onDone }) {
  const form = useForm({ proof: '' });
  const disable = async ({ proof }) => {
    const value = proof.trim();
    // Six digits or a recovery code's shape is a code; anything else is the password.
    const body = /^(\d{6}|[0-9a-f]{5}-?[0-9a-f]{5})$/i.test(value) ? { code: value } : { password: proof };
    await api('DELETE', '/auth/mfa/totp', body);
    onDone();
  };
  return html`<form onSubmit=${form.submit(disable)}>
    <p>${t('account.mfa_on')}</p>
    <${Field} label=${t('account.mfa_proof')} name="proof" type="password" required
      autocomplete="off" value=${form.values.proof} onInput=${form.set('proof')} />
    <${FormError} failure=${form.failure} />
    <div class="actions"><button type="submit" class="danger" disabled=${form.busy}>
      ${t('account.mfa_turn_off')}</button></div>
  </form>`;
}

/** A list of sessions; `onEnd(session)` ends one (omitted: nothing to end one by one). */
export function SessionTable({ sessions, onEnd, caption }) {
  return html`<${Table} caption=${caption} empty=${sessions.length === 0}
    columns=${[t('sessions.started'), t('sessions.seen'), t('sessions.address'), t('sessions.agent')]}>
    ${sessions.map((item) => html`<tr key=${item.idSession} data-session-id=${item.idSession}>
      <td><${Moment} iso=${item.createdAt} /></td>
      <td><${Moment} iso=${item.lastSeenAt} /></td>
      <td>${item.ip ?? '—'}</td>
      <td class="agent">${item.userAgent ?? '—'}</td>
      <td class="row-actions">
        ${item.current ? html`<span class="badge ok">${t('sessions.this')}</span>`
          : onEnd && html`<button type="button" onClick=${() => onEnd(item)}>${t('sessions.end')}</button>`}
      </td>
    </tr>`)}
  <//>`;
}

function SessionsSection() {
  const sessions = useLiveData(() => api('GET', '/auth/sessions'), touches('session', 'auth'));
  const end = (item) => attempt(async () => {
    await api('DELETE', `/auth/sessions/${item.idSession}`);
    sessions.reload();
  });
  const endOthers = () => attempt(async () => {
    await api('DELETE', '/auth/sessions');
    sessions.reload();
  });
  const rows = sessions.data ?? [];
  return html`<${Section} id="account-sessions" title=${t('account.sessions')}>
    <${ErrorLine} text=${sessions.error} />
    <${SessionTable} sessions=${rows} onEnd=${end} caption=${t('account.sessions')} />
    <div class="actions"><button type="button" class="danger" disabled=${rows.length < 2}
      onClick=${endOthers}>${t('sessions.end_others')}</button></div>
  <//>`;
}

/** The sections of the account page, in order. */
export const ACCOUNT_SECTIONS = [
  ProfileSection, PasswordSection, MfaSection, SessionsSection, ApiKeysSection,
];

export function AccountPage() {
  return html`<section aria-labelledby="account-title" class="account">
    <${PageHead} id="account-title" title=${t('nav.account')} />
    ${ACCOUNT_SECTIONS.map((Part) => html`<${Part} key=${Part.name} />`)}
  </section>`;
}
