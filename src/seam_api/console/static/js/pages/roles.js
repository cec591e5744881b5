// Roles: create, rename, describe, delete, and each role's permissions and the users holding it.
import { api, query, request } from '../api.js';
import { t } from '../i18n.js';
import { html, useState } from '../lib.js';
import { can } from '../session.js';
import {
  attempt, Confirm, Dialog, ErrorLine, Field, FormError, PageHead, StaleBanner, Table, touches,
  useDialog, useForm, useLiveData, useStaleWatch,
} from '../ui.js';

const MAY = {
  create: 'POST /api/v1/roles',
  edit: 'PUT /api/v1/roles/:idRole',
  remove: 'DELETE /api/v1/roles/:idRole',
  assign: 'POST /api/v1/permission/assign',
  unassign: 'DELETE /api/v1/permission/unassign',
  users: 'GET /api/v1/users',
};

export function RolesPage() {
  const [selected, setSelected] = useState(null);
  const roles = useLiveData(() => api('GET', '/roles'), touches('role'));
  const { dialog, open, close, done } = useDialog(roles);
  const rows = roles.data ?? [];
  const current = rows.find((role) => role.idRole === selected) ?? null;
  const mayCheck = can(MAY.assign) || can(MAY.unassign);
  const mayOpen = mayCheck || can(MAY.users);

  return html`<section aria-labelledby="roles-title">
    <${PageHead} id="roles-title" title=${t('nav.roles')}>
      ${can(MAY.create) && html`<button type="button" class="primary"
        onClick=${() => open({ kind: 'form' })}>${t('roles.new')}</button>`}
    <//>
    <${ErrorLine} text=${roles.error} />
    <${Table} caption=${t('nav.roles')}
      columns=${[t('field.id'), t('field.roleName'), t('field.description')]}>
      ${rows.map((role) => html`<tr key=${role.idRole} data-role-id=${role.idRole}>
        <td>${role.idRole}</td>
        <td class="name">${role.roleName}</td>
        <td>${role.description}</td>
        <td class="row-actions">
          ${mayOpen && html`<button type="button" aria-pressed=${selected === role.idRole}
            onClick=${() => setSelected(role.idRole)}>${t('roles.permissions')}</button>`}
          ${can(MAY.edit) && html`<button type="button"
            onClick=${() => open({ kind: 'form', role })}>${t('action.edit')}</button>`}
          ${can(MAY.remove) && html`<button type="button" class="danger"
            onClick=${() => open({ kind: 'delete', role })}>${t('action.delete')}</button>`}
        </td>
      </tr>`)}
    <//>
    ${current && can(MAY.users) && html`<${Holders} key=${`h${current.idRole}`} role=${current} />`}
    ${current && mayCheck && html`<${Checklist} key=${current.idRole} role=${current} />`}
    ${dialog?.kind === 'form' && html`<${RoleForm} role=${dialog.role} onClose=${close} onDone=${done} />`}
    ${dialog?.kind === 'delete' && html`<${Confirm}
      text=${t('roles.delete_confirm', { name: dialog.role.roleName })}
      confirmLabel=${t('action.delete')} onClose=${close}
      onConfirm=${async () => {
        await api('DELETE', `/roles/${dialog.role.idRole}`);
        if (selected === dialog.role.idRole) setSelected(null);
        done();
      }} />`}
  </section>`;
}

/** Create (no `role`) or edit a role; an edit watches for someone else's change. */
function RoleForm({ role, onClose, onDone }) {
  const [record, setRecord] = useState(role);
  const form = useForm({ roleName: role?.roleName ?? '', description: role?.description ?? '' });
  const { stale, clear } = useStaleWatch(
    (event) => Boolean(record) && event.operation.startsWith('role:') && event.data?.idRole === record.idRole,
  );
  const reload = async () => {
    const fresh = (await api('GET', '/roles')).find((item) => item.idRole === record.idRole);
    if (fresh) {
      setRecord(fresh);
      form.setValues({ roleName: fresh.roleName, description: fresh.description ?? '' });
    }
    clear();
  };
  const save = async (values) => {
    if (!record) {
      await api('POST', '/roles', values);
    } else {
      const body = {};
      if (values.roleName !== record.roleName) body.roleName = values.roleName;
      if (values.description !== (record.description ?? '')) body.description = values.description;
      if (Object.keys(body).length) await api('PUT', `/roles/${record.idRole}`, body);
    }
    onDone();
  };
  const title = record ? t('roles.edit', { name: record.roleName }) : t('roles.new');
  return html`<${Dialog} title=${title} onClose=${onClose}>
    <form onSubmit=${form.submit(save)}>
      <${StaleBanner} stale=${stale} onReload=${reload} />
      <${Field} label=${t('field.roleName')} name="roleName" required value=${form.values.roleName}
        onInput=${form.set('roleName')} error=${form.fieldError('roleName')} />
      <${Field} label=${t('field.description')} name="description" value=${form.values.description}
        onInput=${form.set('description')} error=${form.fieldError('description')} />
      <${FormError} failure=${form.failure} />
      <div class="actions">
        <button type="button" onClick=${onClose}>${t('action.cancel')}</button>
        <button type="submit" class="primary" disabled=${form.busy || stale !== null}>
          ${record ? t('action.save') : t('action.create')}</button>
      </div>
    </form>
  <//>`;
}

const ACTIONS = ['list', 'view', 'create', 'edit', 'delete'];
const RESOURCE_LABELS = {
  users: 'nav.users', roles: 'nav.roles', permission: 'nav.permissions', sidebar: 'nav.sidebar',
  audit: 'nav.audit',
};
const ACTION_LABELS = {
  list: 'action.list', view: 'action.view', create: 'action.create_short', edit: 'action.edit_short',
  delete: 'action.delete_short',
};

/** Where a permission sits in the grid: `GET /api/v1/users` is users' list, `PUT
 * /api/v1/users/:id` users' edit; anything else keeps its own name (its description). */
export function placeOf(nameUri) {
  const match = /^(\w+) \/api\/v1\/([^/\s]+)(\/.*)?$/.exec(nameUri);
  if (!match) return { resource: '', action: null };
  const [, method, resource, rest = ''] = match;
  const method_ = method.toUpperCase();
  let action = null;
  if (rest === '') action = { GET: 'list', POST: 'create' }[method_] ?? null;
  else if (/^\/:\w+$/.test(rest)) action = { GET: 'view', PUT: 'edit', DELETE: 'delete' }[method_] ?? null;
  return { resource, action };
}

/** Every permission, checked where `role` holds it, grouped by resource with the usual
 * actions as columns; the raw route shows on hover. A click assigns or unassigns. */
function Checklist({ role }) {
  const all = useLiveData(() => api('GET', '/permission'), touches('permission'));
  const held = useLiveData(
    () => api('GET', `/permission/getByRoleId?roleId=${role.idRole}`),
    touches('permission', 'role'),
    [role.idRole],
  );
  const holds = new Set((held.data ?? []).map((permission) => permission.idPermission));
  const toggle = (permission, checked) => attempt(async () => {
    const body = { roleId: role.idRole, permissionId: permission.idPermission };
    await api(checked ? 'POST' : 'DELETE', checked ? '/permission/assign' : '/permission/unassign', body);
    held.reload();
  });
  const groups = new Map();
  for (const permission of all.data ?? []) {
    const { resource, action } = placeOf(permission.nameUri);
    if (!groups.has(resource)) groups.set(resource, { actions: {}, others: [] });
    const group = groups.get(resource);
    if (action && !group.actions[action]) group.actions[action] = permission;
    else group.others.push(permission);
  }
  const resourceName = (resource) => (RESOURCE_LABELS[resource] ? t(RESOURCE_LABELS[resource])
    : resource || t('permissions.other'));
  const box = (permission, label) => {
    const checked = holds.has(permission.idPermission);
    const allowed = checked ? can(MAY.unassign) : can(MAY.assign);
    return html`<input type="checkbox" checked=${checked} disabled=${!allowed} title=${permission.nameUri}
      aria-label=${label} data-name-uri=${permission.nameUri}
      onChange=${(event) => toggle(permission, event.target.checked)} />`;
  };
  return html`<section class="card checklist" aria-labelledby="checklist-title">
    <h2 id="checklist-title">${t('roles.permissions_of', { name: role.roleName })}</h2>
    <${ErrorLine} text=${all.error || held.error} />
    <div class="table-wrap"><table class="matrix">
      <caption class="visually-hidden">${t('roles.permissions_of', { name: role.roleName })}</caption>
      <thead><tr><th scope="col">${t('permissions.resource')}</th>
        ${ACTIONS.map((action) => html`<th scope="col" key=${action}>${t(ACTION_LABELS[action])}</th>`)}
        <th scope="col">${t('permissions.other')}</th></tr></thead>
      <tbody>${[...groups.entries()].map(([resource, group]) => html`<tr key=${resource}>
        <th scope="row">${resourceName(resource)}</th>
        ${ACTIONS.map((action) => {
          const permission = group.actions[action];
          const label = `${resourceName(resource)}: ${t(ACTION_LABELS[action])}`;
          return html`<td key=${action} data-label=${t(ACTION_LABELS[action])}>
            ${permission && box(permission, label)}</td>`;
        })}
        <td class="others" data-label=${t('permissions.other')}>${group.others.map((permission) => html`<label
          key=${permission.idPermission} class="inline" title=${permission.nameUri}>
          ${box(permission, permission.description || permission.nameUri)}
          <span>${permission.description || permission.nameUri}</span></label>`)}</td>
      </tr>`)}</tbody>
    </table></div>
  </section>`;
}

/** The users holding `role` (the first page of them), for a role's page. */
function Holders({ role }) {
  const holders = useLiveData(
    () => request('GET', `/users${query({ roleId: role.idRole, limit: 50, withTotal: 'true' })}`),
    touches('user', 'auth', 'role'),
    [role.idRole],
  );
  const rows = holders.data?.data ?? [];
  const total = holders.data?.meta?.total ?? 0;
  return html`<section class="card" aria-labelledby="holders-title">
    <h2 id="holders-title">${t('roles.holders', { name: role.roleName })}</h2>
    <${ErrorLine} text=${holders.error} />
    ${holders.data && rows.length === 0 && html`<p class="muted">${t('roles.holders_none')}</p>`}
    <ul class="holders">${rows.map((user) => html`<li key=${user.idUser}>${user.full_name}
      <span class="muted"> (${user.email})</span></li>`)}</ul>
    ${total > rows.length && html`<p class="muted">${t('roles.holders_more', { more: total - rows.length })}</p>`}
  </section>`;
}
