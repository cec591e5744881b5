// Users: a paged list; create, edit, enable/disable, reset password, delete. Each action is
// offered only when the role holds its permission.
import { api } from '../api.js';
import { t } from '../i18n.js';
import { html, useState } from '../lib.js';
import { can } from '../session.js';
import { SessionTable } from './account.js';
import {
  activeLabel, attempt, Confirm, Dialog, ErrorLine, Field, FormError, PageHead, StaleBanner, Table,
  touches, useDialog, useForm, useLiveData, useStaleWatch,
} from '../ui.js';

const LIMIT = 20;
const MAY = {
  create: 'POST /api/v1/auth/register',
  edit: 'PUT /api/v1/users/:id',
  state: 'PUT /api/v1/users/:id/state',
  reset: 'PUT /api/v1/users/:id/resetPassword',
  remove: 'DELETE /api/v1/users/:id',
  sessions: 'GET /api/v1/users/:id/sessions',
  endSessions: 'DELETE /api/v1/users/:id/sessions',
  clearMfa: 'DELETE /api/v1/users/:id/mfa',
};

export function UsersPage() {
  const [page, setPage] = useState(1);
  // Role renames change the roleName column, so role changes reload the list too.
  const users = useLiveData(
    () => api('GET', `/users?page=${page}&limit=${LIMIT}`),
    touches('user', 'auth', 'role'),
    [page],
  );
  const roles = useLiveData(() => api('GET', '/roles'), touches('role'));
  const { dialog, open, close, done } = useDialog(users);
  const rows = users.data ?? [];

  const setState = (user) => attempt(async () => {
    await api('PUT', `/users/${user.idUser}/state`, { isActive: user.isActive ? 0 : 1 });
    users.reload();
  });

  return html`<section aria-labelledby="users-title">
    <${PageHead} id="users-title" title=${t('nav.users')}>
      ${can(MAY.create) && html`<button type="button" class="primary"
        onClick=${() => open({ kind: 'create' })}>${t('users.new')}</button>`}
    <//>
    <${ErrorLine} text=${users.error} />
    <${Table} caption=${t('nav.users')} empty=${users.data && rows.length === 0}
      columns=${[t('field.id'), t('field.full_name'), t('field.email'), t('field.role'), t('field.status')]}>
      ${rows.map((user) => html`<tr key=${user.idUser} data-user-id=${user.idUser}>
        <td>${user.idUser}</td>
        <td class="name">${user.full_name}</td>
        <td>${user.email}</td>
        <td>${user.roleName}</td>
        <td><span class=${user.isActive ? 'badge ok' : 'badge off'}>${activeLabel(user.isActive)}</span></td>
        <td class="row-actions">
          ${can(MAY.edit) && html`<button type="button"
            onClick=${() => open({ kind: 'edit', user })}>${t('action.edit')}</button>`}
          ${can(MAY.state) && html`<button type="button" onClick=${() => setState(user)}>
            ${user.isActive ? t('users.disable') : t('users.enable')}</button>`}
          ${can(MAY.reset) && html`<button type="button"
            onClick=${() => open({ kind: 'reset', user })}>${t('users.reset')}</button>`}
          ${can(MAY.sessions) && html`<button type="button"
            onClick=${() => open({ kind: 'sessions', user })}>${t('users.sessions')}</button>`}
          ${can(MAY.clearMfa) && html`<button type="button"
            onClick=${() => open({ kind: 'mfa', user })}>${t('users.clear_mfa')}</button>`}
          ${can(MAY.remove) && html`<button type="button" class="danger"
            onClick=${() => open({ kind: 'delete', user })}>${t('action.delete')}</button>`}
        </td>
      </tr>`)}
    <//>
    <nav class="pager" aria-label=${t('table.pages')}>
      <button type="button" disabled=${page === 1} onClick=${() => setPage(page - 1)}>
        ${t('table.previous')}</button>
      <span>${t('table.page', { page })}</span>
      <button type="button" disabled=${rows.length < LIMIT} onClick=${() => setPage(page + 1)}>
        ${t('table.next')}</button>
    </nav>
    ${dialog?.kind === 'create' && html`<${CreateUser} roles=${roles.data ?? []}
      onClose=${close} onDone=${done} />`}
    ${dialog?.kind === 'edit' && html`<${EditUser} user=${dialog.user} roles=${roles.data ?? []}
      onClose=${close} onDone=${done} />`}
    ${dialog?.kind === 'reset' && html`<${Confirm} text=${t('users.reset_confirm', { email: dialog.user.email })}
      confirmLabel=${t('users.reset')} onClose=${close}
      onConfirm=${async () => {
        const { temporaryPassword } = await api('PUT', `/users/${dialog.user.idUser}/resetPassword`);
        open({ kind: 'password', user: dialog.user, password: temporaryPassword });
      }} />`}
    ${dialog?.kind === 'password' && html`<${TemporaryPassword} user=${dialog.user}
      password=${dialog.password} onClose=${close} />`}
    ${dialog?.kind === 'sessions' && html`<${UserSessions} user=${dialog.user} onClose=${close} />`}
    ${dialog?.kind === 'mfa' && html`<${Confirm} text=${t('users.clear_mfa_confirm', { email: dialog.user.email })}
      confirmLabel=${t('users.clear_mfa')} onClose=${close}
      onConfirm=${async () => {
        await api('DELETE', `/users/${dialog.user.idUser}/mfa`);
        close();
      }} />`}
    ${dialog?.kind === 'delete' && html`<${Confirm} text=${t('users.delete_confirm', { email: dialog.user.email })}
      confirmLabel=${t('action.delete')} onClose=${close}
      onConfirm=${async () => {
        await api('DELETE', `/users/${dialog.user.idUser}`);
        done();
      }} />`}
  </section>`;
}

function RoleOptions({ roles }) {
  return roles.map((role) => html`<option key=${role.idRole} value=${String(role.idRole)}>${role.roleName}</option>`);
}

function CreateUser({ roles, onClose, onDone }) {
  const form = useForm({ full_name: '', email: '', password: '', roleId: '' });
  const save = async (values) => {
    const body = { full_name: values.full_name, email: values.email, password: values.password };
    if (values.roleId) body.roleId = Number(values.roleId);
    await api('POST', '/auth/register', body);
    onDone();
  };
  return html`<${Dialog} title=${t('users.new')} onClose=${onClose}>
    <form onSubmit=${form.submit(save)}>
      <${Field} label=${t('field.full_name')} name="full_name" required value=${form.values.full_name}
        onInput=${form.set('full_name')} error=${form.fieldError('full_name')} />
      <${Field} label=${t('field.email')} name="email" type="email" required value=${form.values.email}
        onInput=${form.set('email')} error=${form.fieldError('email')} />
      <${Field} label=${t('field.password')} name="password" type="password" required
        autocomplete="new-password" value=${form.values.password}
        onInput=${form.set('password')} error=${form.fieldError('password')} />
      <${Field} label=${t('field.role')} name="roleId" value=${form.values.roleId}
        onInput=${form.set('roleId')} error=${form.fieldError('roleId')}>
        <option value="">${t('users.default_role')}</option>
        <${RoleOptions} roles=${roles} />
      <//>
      <${FormError} failure=${form.failure} />
      <div class="actions">
        <button type="button" onClick=${onClose}>${t('action.cancel')}</button>
        <button type="submit" class="primary" disabled=${form.busy}>${t('action.create')}</button>
      </div>
    </form>
  <//>`;
}

function editable(user) {
  return { full_name: user.full_name, email: user.email, roleId: String(user.roleId), password: '' };
}

function EditUser({ user, roles, onClose, onDone }) {
  const [record, setRecord] = useState(user);
  const form = useForm(editable(user));
  const { stale, clear } = useStaleWatch(
    (event) => event.operation.startsWith('user:') && event.data?.idUser === record.idUser,
  );
  const reload = async () => {
    const fresh = await api('GET', `/users/${record.idUser}`);
    setRecord(fresh);
    form.setValues(editable(fresh));
    clear();
  };
  const save = async (values) => {
    const body = {};
    if (values.full_name !== record.full_name) body.full_name = values.full_name;
    if (values.email !== record.email) body.email = values.email;
    if (Number(values.roleId) !== record.roleId) body.roleId = Number(values.roleId);
    if (values.password) body.password = values.password;
    if (Object.keys(body).length) await api('PUT', `/users/${record.idUser}`, body);
    onDone();
  };
  return html`<${Dialog} title=${t('users.edit', { email: record.email })} onClose=${onClose}>
    <form onSubmit=${form.submit(save)}>
      <${StaleBanner} stale=${stale} onReload=${reload} />
      <${Field} label=${t('field.full_name')} name="full_name" required value=${form.values.full_name}
        onInput=${form.set('full_name')} error=${form.fieldError('full_name')} />
      <${Field} label=${t('field.email')} name="email" type="email" required value=${form.values.email}
        onInput=${form.set('email')} error=${form.fieldError('email')} />
      <${Field} label=${t('field.role')} name="roleId" value=${form.values.roleId}
        onInput=${form.set('roleId')} error=${form.fieldError('roleId')}>
        <${RoleOptions} roles=${roles} />
      <//>
      <${Field} label=${t('users.new_password')} name="password" type="password"
        autocomplete="new-password" value=${form.values.password}
        onInput=${form.set('password')} error=${form.fieldError('password')} />
      <${FormError} failure=${form.failure} />
      <div class="actions">
        <button type="button" onClick=${onClose}>${t('action.cancel')}</button>
        <button type="submit" class="primary" disabled=${form.busy || stale !== null}>
          ${t('action.save')}</button>
      </div>
    </form>
  <//>`;
}

/** The temporary password, shown this once: closing the dialog forgets it. */
function TemporaryPassword({ user, password, onClose }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    await navigator.clipboard.writeText(password);
    setCopied(true);
  };
  return html`<${Dialog} title=${t('users.temporary_title')} onClose=${onClose}>
    <p>${t('users.temporary_text', { email: user.email })}</p>
    <p><code class="secret" data-testid="temporary-password">${password}</code></p>
    <div class="actions">
      <button type="button" onClick=${copy}>${copied ? t('action.copied') : t('action.copy')}</button>
      <button type="button" class="primary" onClick=${onClose}>${t('action.done')}</button>
    </div>
  <//>`;
}

/** A user's sessions, and signing them out everywhere. */
function UserSessions({ user, onClose }) {
  const sessions = useLiveData(
    () => api('GET', `/users/${user.idUser}/sessions`),
    touches('session', 'auth'),
  );
  const endAll = () => attempt(async () => {
    await api('DELETE', `/users/${user.idUser}/sessions`);
    sessions.reload();
  });
  const rows = sessions.data ?? [];
  return html`<${Dialog} title=${t('users.sessions_of', { email: user.email })} onClose=${onClose} wide>
    <${ErrorLine} text=${sessions.error} />
    <${SessionTable} sessions=${rows} caption=${t('users.sessions')} />
    <div class="actions">
      <button type="button" onClick=${onClose}>${t('action.close')}</button>
      ${can(MAY.endSessions) && html`<button type="button" class="danger" disabled=${rows.length === 0}
        onClick=${endAll}>${t('users.end_sessions')}</button>`}
    </div>
  <//>`;
}
