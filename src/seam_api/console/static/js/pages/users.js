// Users: search, filter, sort and page through the list; create, edit, enable/disable, reset
// password, delete, one at a time or in bulk; export and import CSV. An action is offered only
// when the role holds its permission and, for another account, when the server's delegation
// rules (the login's `capabilities`) let this role change that account.
import { api, query, request } from '../api.js';
import { runBulk, toast } from '../feedback.js';
import { t } from '../i18n.js';
import { html, useEffect, useState } from '../lib.js';
import { can, session } from '../session.js';
import { SessionTable } from './account.js';
import {
  activeLabel, attempt, Confirm, Dialog, ErrorLine, Field, FormError, Moment, PageHead, Pager,
  StaleBanner, Table, touches, useDialog, useForm, useLiveData, useStaleWatch,
} from '../ui.js';
import { ImportUsers, exportUsers } from './users_csv.js';

const LIMIT = 20;
const MAY = {
  create: 'POST /api/v1/auth/register',
  edit: 'PUT /api/v1/users/:id',
  state: 'PUT /api/v1/users/:id/state',
  reset: 'PUT /api/v1/users/:id/resetPassword',
  remove: 'DELETE /api/v1/users/:id',
  sessions: 'GET /api/v1/users/:id/sessions',
  endSessions: 'DELETE /api/v1/users/:id/sessions',
  keys: 'GET /api/v1/users/:id/keys',
  revokeKey: 'DELETE /api/v1/users/:id/keys/:idKey',
  mfa: 'GET /api/v1/users/:id/mfa',
  clearMfa: 'DELETE /api/v1/users/:id/mfa',
  fetchOne: 'GET /api/v1/users/:id',
  import: 'POST /api/v1/users/import',
};

/** The roles this role may give, and whose accounts it may change (null: not told, so
 * everything is offered and the server decides). */
function assignable() {
  return session.get()?.capabilities?.assignableRoleIds ?? null;
}

/** May this role change `user`'s account at all? */
export function mayChange(user) {
  const roleIds = assignable();
  return roleIds === null || roleIds.includes(user.roleId);
}

/** An address that may wrap after its `@` (and, if even its parts are too long, anywhere). */
function breakableEmail(email) {
  const at = email.lastIndexOf('@');
  return at < 0 ? email : html`${email.slice(0, at + 1)}<wbr />${email.slice(at + 1)}`;
}

function useDebounced(value, ms) {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value]);
  return settled;
}

export function UsersPage() {
  const [page, setPage] = useState(1);
  const [search, setSearch] = useState('');
  const [roleId, setRoleId] = useState('');
  const [isActive, setIsActive] = useState('');
  const [sort, setSort] = useState('idUser');
  const [selected, setSelected] = useState(new Set());
  const [allMatching, setAllMatching] = useState(false);
  const term = useDebounced(search, 300);
  const filters = { search: term.trim(), roleId, isActive, sort: sort === 'idUser' ? '' : sort };
  const key = JSON.stringify(filters);
  useEffect(() => {
    setPage(1);
    setSelected(new Set());
    setAllMatching(false);
  }, [key]);
  // Role renames change the roleName column, so role changes reload the list too.
  const users = useLiveData(
    () => (async () => {
      const answer = await request('GET', `/users${query({ ...filters, page, limit: LIMIT, withTotal: 'true' })}`);
      return { rows: answer.data, total: answer.meta?.total ?? null };
    })(),
    touches('user', 'auth', 'role'),
    [page, key],
  );
  const roles = useLiveData(() => api('GET', '/roles'), touches('role'));
  const { dialog, open, close, done } = useDialog(users);
  const rows = users.data?.rows ?? [];
  const total = users.data?.total ?? null;
  const ownId = session.get()?.user?.idUser;

  const setState = (user) => attempt(async () => {
    await api('PUT', `/users/${user.idUser}/state`, { isActive: user.isActive ? 0 : 1 });
    users.reload();
  });
  const toggle = (user) => {
    const next = new Set(selected);
    if (next.has(user.idUser)) next.delete(user.idUser);
    else next.add(user.idUser);
    setSelected(next);
    setAllMatching(false);
  };
  const pageIds = rows.filter(mayChange).map((user) => user.idUser);
  const wholePage = pageIds.length > 0 && pageIds.every((id) => selected.has(id));
  const selectPage = (event) => {
    setSelected(event.target.checked ? new Set(pageIds) : new Set());
    setAllMatching(false);
  };
  const chosen = allMatching ? total : selected.size;
  const bulkAllowed = can(MAY.state) || can(MAY.edit) || can(MAY.remove);

  /** The users a bulk action applies to: the checked rows, or every user the filters match. */
  const targets = async () => {
    if (!allMatching) return rows.filter((user) => selected.has(user.idUser));
    const everyone = [];
    for (let number = 1; ; number += 1) {
      const batch = await api('GET', `/users${query({ ...filters, page: number, limit: 200 })}`);
      everyone.push(...batch);
      if (batch.length < 200) break;
    }
    return everyone.filter(mayChange);
  };
  const bulk = async (kind, body) => {
    const users_ = (await targets()).filter((user) => user.idUser !== ownId || kind === 'edit');
    const call = {
      disable: (user) => api('PUT', `/users/${user.idUser}/state`, { isActive: 0 }),
      enable: (user) => api('PUT', `/users/${user.idUser}/state`, { isActive: 1 }),
      role: (user) => api('PUT', `/users/${user.idUser}`, body),
      delete: (user) => api('DELETE', `/users/${user.idUser}`),
    }[kind];
    const failures = await runBulk((count) => t('bulk.progress', count), users_, call);
    setSelected(new Set());
    setAllMatching(false);
    users.reload();
    if (failures.length) open({ kind: 'failures', failures, total: users_.length });
    else toast('success', t('bulk.done', { total: users_.length }));
  };

  return html`<section aria-labelledby="users-title">
    <${PageHead} id="users-title" title=${t('nav.users')}>
      <div class="head-actions">
        <button type="button" onClick=${() => attempt(() => exportUsers(filters))}>${t('users.export')}</button>
        ${can(MAY.import) && html`<button type="button" onClick=${() => open({ kind: 'import' })}>
          ${t('users.import')}</button>`}
        ${can(MAY.create) && html`<button type="button" class="primary"
          onClick=${() => open({ kind: 'create' })}>${t('users.new')}</button>`}
      </div>
    <//>
    <div class="filters" role="search">
      <span class="inline"><label for="users-search">${t('users.search')}</label>
        <input id="users-search" type="search" name="search" value=${search}
          onInput=${(e) => setSearch(e.target.value)} /></span>
      <span class="inline"><label for="users-role-filter">${t('users.members_of')}</label>
        <select id="users-role-filter" name="roleFilter" value=${roleId} onChange=${(e) => setRoleId(e.target.value)}>
          <option value="">${t('users.all_roles')}</option>
          ${(roles.data ?? []).map((role) => html`<option key=${role.idRole} value=${String(role.idRole)}>${role.roleName}</option>`)}
        </select></span>
      <span class="inline"><label for="users-state-filter">${t('field.status')}</label>
        <select id="users-state-filter" name="activeFilter" value=${isActive} onChange=${(e) => setIsActive(e.target.value)}>
          <option value="">${t('users.any_state')}</option>
          <option value="1">${t('users.active')}</option>
          <option value="0">${t('users.inactive')}</option>
        </select></span>
    </div>
    ${bulkAllowed && chosen > 0 && html`<${BulkBar} count=${chosen} roles=${roles.data ?? []}
      allMatching=${allMatching} total=${total} wholePage=${wholePage}
      onAllMatching=${() => setAllMatching(true)} onRun=${(kind, body) => open({ kind: 'bulk', action: kind, body, count: chosen, run: () => bulk(kind, body) })} />`}
    <${ErrorLine} text=${users.error} />
    <${Table} caption=${t('nav.users')} empty=${users.data && rows.length === 0} sortBy=${sort} onSort=${setSort}
      lead=${bulkAllowed && html`<input type="checkbox" aria-label=${t('bulk.select_page')}
        checked=${wholePage} onChange=${selectPage} />`}
      columns=${[
        { title: t('field.id'), sort: 'idUser' }, { title: t('field.full_name'), sort: 'full_name' },
        { title: t('field.email'), sort: 'email' }, { title: t('field.role'), sort: 'roleName' }, t('field.status'),
      ]}>
      ${rows.map((user) => html`<tr key=${user.idUser} data-user-id=${user.idUser}>
        ${bulkAllowed && html`<td class="lead">${mayChange(user) && html`<input type="checkbox"
          aria-label=${t('bulk.select', { email: user.email })} checked=${allMatching || selected.has(user.idUser)}
          onChange=${() => toggle(user)} />`}</td>`}
        <td>${user.idUser}</td>
        <td class="name">${user.full_name}</td>
        <td class="email">${breakableEmail(user.email)}</td>
        <td>${user.roleName}</td>
        <td><span class=${user.isActive ? 'badge ok' : 'badge off'}>${activeLabel(user.isActive)}</span></td>
        <td class="row-actions">${mayChange(user) && html`
          ${can(MAY.edit) && html`<button type="button"
            onClick=${() => open({ kind: 'edit', user })}>${t('action.edit')}</button>`}
          ${can(MAY.state) && user.idUser !== ownId && html`<button type="button" onClick=${() => setState(user)}>
            ${user.isActive ? t('users.disable') : t('users.enable')}</button>`}
          ${can(MAY.reset) && html`<button type="button"
            onClick=${() => open({ kind: 'reset', user })}>${t('users.reset')}</button>`}
          ${(can(MAY.sessions) || can(MAY.keys) || can(MAY.mfa)) && html`<button type="button"
            onClick=${() => open({ kind: 'access', user })}>${t('users.access')}</button>`}
          ${can(MAY.remove) && user.idUser !== ownId && html`<button type="button" class="danger"
            onClick=${() => open({ kind: 'delete', user })}>${t('action.delete')}</button>`}`}
        </td>
      </tr>`)}
    <//>
    <${Pager} page=${page} limit=${LIMIT} total=${total} count=${rows.length} onPage=${setPage} />
    ${dialog?.kind === 'create' && html`<${CreateUser} roles=${roles.data ?? []}
      onClose=${close} onDone=${done} />`}
    ${dialog?.kind === 'edit' && html`<${EditUser} user=${dialog.user} roles=${roles.data ?? []}
      own=${dialog.user.idUser === ownId} onClose=${close} onDone=${done} />`}
    ${dialog?.kind === 'reset' && html`<${Confirm} text=${t('users.reset_confirm', { email: dialog.user.email })}
      confirmLabel=${t('users.reset')} onClose=${close}
      onConfirm=${async () => {
        const { temporaryPassword } = await api('PUT', `/users/${dialog.user.idUser}/resetPassword`);
        open({ kind: 'password', user: dialog.user, password: temporaryPassword });
      }} />`}
    ${dialog?.kind === 'password' && html`<${TemporaryPassword} user=${dialog.user}
      password=${dialog.password} onClose=${close} />`}
    ${dialog?.kind === 'access' && html`<${UserAccess} user=${dialog.user} onClose=${close} />`}
    ${dialog?.kind === 'delete' && html`<${Confirm} text=${t('users.delete_confirm', { email: dialog.user.email })}
      confirmLabel=${t('action.delete')} onClose=${close}
      onConfirm=${async () => {
        await api('DELETE', `/users/${dialog.user.idUser}`);
        done();
      }} />`}
    ${dialog?.kind === 'bulk' && html`<${Confirm} text=${t(`bulk.confirm_${dialog.action}`, { count: dialog.count })}
      confirmLabel=${t(`bulk.${dialog.action}`)} onClose=${close}
      onConfirm=${async () => {
        close();
        await dialog.run();
      }} />`}
    ${dialog?.kind === 'failures' && html`<${BulkFailures} failures=${dialog.failures}
      total=${dialog.total} onClose=${close} />`}
    ${dialog?.kind === 'import' && html`<${ImportUsers} roles=${roles.data ?? []} onClose=${close} onDone=${users.reload} />`}
  </section>`;
}

function BulkBar({ count, roles, allMatching, total, wholePage, onAllMatching, onRun }) {
  const [roleId, setRoleId] = useState('');
  const offered = roles.filter((role) => assignable() === null || assignable().includes(role.idRole));
  return html`<div class="bulk" role="region" aria-label=${t('bulk.label')}>
    <span>${t('bulk.selected', { count })}</span>
    ${wholePage && !allMatching && total > count && html`<button type="button" class="link"
      onClick=${onAllMatching}>${t('bulk.select_all', { total })}</button>`}
    ${can(MAY.state) && html`<button type="button" onClick=${() => onRun('disable')}>${t('bulk.disable')}</button>
      <button type="button" onClick=${() => onRun('enable')}>${t('bulk.enable')}</button>`}
    ${can(MAY.edit) && html`<label class="inline"><span class="visually-hidden">${t('bulk.new_role')}</span>
      <select name="bulkRole" value=${roleId} onChange=${(e) => setRoleId(e.target.value)}>
        <option value="">${t('bulk.new_role')}</option>
        ${offered.map((role) => html`<option key=${role.idRole} value=${String(role.idRole)}>${role.roleName}</option>`)}
      </select></label>
      <button type="button" disabled=${!roleId} onClick=${() => onRun('role', { roleId: Number(roleId) })}>
        ${t('bulk.role')}</button>`}
    ${can(MAY.remove) && html`<button type="button" class="danger" onClick=${() => onRun('delete')}>${t('bulk.delete')}</button>`}
  </div>`;
}

function BulkFailures({ failures, total, onClose }) {
  return html`<${Dialog} title=${t('bulk.failures_title')} onClose=${onClose}>
    <p role="alert">${t('bulk.failures', { failed: failures.length, total })}</p>
    <ul class="failures">${failures.map(({ item, error }) => html`<li key=${item.idUser}>
      <strong>${item.email}</strong>: ${error.message}</li>`)}</ul>
    <div class="actions"><button type="button" class="primary" onClick=${onClose}>${t('action.done')}</button></div>
  <//>`;
}

/** The roles a form may offer: those the server would accept, and the current one. */
function RoleOptions({ roles, keep }) {
  const roleIds = assignable();
  return roles
    .filter((role) => roleIds === null || roleIds.includes(role.idRole) || role.idRole === keep)
    .map((role) => html`<option key=${role.idRole} value=${String(role.idRole)}>${role.roleName}</option>`);
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

/**
 * The record as the server has it now, read the way this role may: one user if it may read
 * one, else the list (which it holds, or it would not see this page) searched by email.
 */
async function freshRecord(record, changed) {
  if (can(MAY.fetchOne)) return api('GET', `/users/${record.idUser}`);
  if (changed?.idUser === record.idUser && changed.email) return changed;
  const found = await api('GET', `/users${query({ search: record.email, limit: 200 })}`);
  const same = found.find((user) => user.idUser === record.idUser);
  if (!same) throw new Error(t('stale.gone'));
  return same;
}

function EditUser({ user, roles, own, onClose, onDone }) {
  const [record, setRecord] = useState(user);
  const [reloadError, setReloadError] = useState(null);
  const form = useForm(editable(user));
  const { stale, clear } = useStaleWatch(
    (event) => event.operation.startsWith('user:') && event.data?.idUser === record.idUser,
  );
  const reload = async () => {
    setReloadError(null);
    try {
      const fresh = await freshRecord(record, stale?.data);
      setRecord(fresh);
      form.setValues(editable(fresh));
    } catch (error) {
      // Saving stays possible: the server still refuses a change it cannot accept.
      setReloadError(t('stale.reload_failed', { reason: error.message }));
    }
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
      <${ErrorLine} text=${reloadError} />
      <${Field} label=${t('field.full_name')} name="full_name" required value=${form.values.full_name}
        onInput=${form.set('full_name')} error=${form.fieldError('full_name')} />
      <${Field} label=${t('field.email')} name="email" type="email" required value=${form.values.email}
        onInput=${form.set('email')} error=${form.fieldError('email')} />
      ${own ? html`<p class="muted">${t('users.own_role', { role: record.roleName })}</p>`
        : html`<${Field} label=${t('field.role')} name="roleId" value=${form.values.roleId}
        onInput=${form.set('roleId')} error=${form.fieldError('roleId')}>
        <${RoleOptions} roles=${roles} keep=${record.roleId} />
      <//>`}
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

/**
 * What signs a user in, in one place: their sessions (sign them out everywhere), their API keys
 * (revoke one) and their second factor (clear it, offered only when they have one: the user
 * list's fields are fixed, so GET /users/:id/mfa tells). Each part shows when the role may read
 * it.
 */
function UserAccess({ user, onClose }) {
  const [asking, setAsking] = useState(null);
  return html`<${Dialog} title=${t('users.access_of', { email: user.email })} onClose=${onClose} wide>
    ${can(MAY.sessions) && html`<${UserSessions} user=${user} />`}
    ${can(MAY.keys) && html`<${UserKeys} user=${user} ask=${setAsking} />`}
    ${can(MAY.mfa) && html`<${UserMfa} user=${user} ask=${setAsking} />`}
    <div class="actions">
      <button type="button" onClick=${onClose}>${t('action.close')}</button>
    </div>
    ${asking && html`<${Confirm} text=${asking.text} confirmLabel=${asking.label}
      onClose=${() => setAsking(null)}
      onConfirm=${async () => {
        await asking.run();
        setAsking(null);
      }} />`}
  <//>`;
}

function UserSessions({ user }) {
  const sessions = useLiveData(
    () => api('GET', `/users/${user.idUser}/sessions`),
    touches('session', 'auth'),
  );
  const endAll = () => attempt(async () => {
    await api('DELETE', `/users/${user.idUser}/sessions`);
    sessions.reload();
  });
  const rows = sessions.data ?? [];
  return html`<section class="access-part" aria-labelledby="access-sessions">
    <h3 id="access-sessions">${t('users.sessions')}</h3>
    <${ErrorLine} text=${sessions.error} />
    <${SessionTable} sessions=${rows} caption=${t('users.sessions')} />
    ${can(MAY.endSessions) && html`<div class="actions"><button type="button" class="danger"
      disabled=${rows.length === 0} onClick=${endAll}>${t('users.end_sessions')}</button></div>`}
  </section>`;
}

function UserKeys({ user, ask }) {
  const keys = useLiveData(() => api('GET', `/users/${user.idUser}/keys`), touches('apikey'), [], { own: true });
  const rows = keys.data ?? [];
  const revoke = (key) => ask({
    text: t('users.revoke_key_confirm', { name: key.name, email: user.email }),
    label: t('keys.revoke'),
    run: () => api('DELETE', `/users/${user.idUser}/keys/${key.idKey}`),
  });
  return html`<section class="access-part" aria-labelledby="access-keys">
    <h3 id="access-keys">${t('keys.title')}</h3>
    <${ErrorLine} text=${keys.error} />
    <${Table} caption=${t('keys.title')} empty=${keys.data?.length === 0}
      columns=${[t('keys.name'), t('keys.permissions'), t('keys.expires'), t('keys.last_used')]}>
      ${rows.map((key) => html`<tr key=${key.idKey} data-key-id=${key.idKey}>
        <td>${key.name}</td>
        <td>${key.permissions.length}</td>
        <td>${key.expiresAt ? html`<${Moment} iso=${key.expiresAt} />` : t('keys.never')}</td>
        <td>${key.lastUsedAt ? html`<${Moment} iso=${key.lastUsedAt} />` : t('keys.unused')}</td>
        <td class="row-actions">${can(MAY.revokeKey) && html`<button type="button" class="danger"
          onClick=${() => revoke(key)}>${t('keys.revoke')}</button>`}</td>
      </tr>`)}
    <//>
  </section>`;
}

function UserMfa({ user, ask }) {
  const status = useLiveData(
    () => api('GET', `/users/${user.idUser}/mfa`),
    (operation) => operation.startsWith('mfa:') || operation === 'user:resetMfa',
    [],
    { own: true },
  );
  const clear = () => ask({
    text: t('users.clear_mfa_confirm', { email: user.email }),
    label: t('users.clear_mfa'),
    run: () => api('DELETE', `/users/${user.idUser}/mfa`),
  });
  const on = status.data?.mfaEnabled;
  return html`<section class="access-part" aria-labelledby="access-mfa">
    <h3 id="access-mfa">${t('account.mfa')}</h3>
    <${ErrorLine} text=${status.error} />
    ${status.data && html`<p data-testid="user-mfa">${on ? t('users.mfa_on') : t('users.mfa_off')}</p>`}
    ${on && can(MAY.clearMfa) && html`<div class="actions"><button type="button" class="danger"
      onClick=${clear}>${t('users.clear_mfa')}</button></div>`}
  </section>`;
}
