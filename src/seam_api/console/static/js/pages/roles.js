// Roles: create, rename, describe, delete, and each role's permission checklist.
import { api } from '../api.js';
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
};

export function RolesPage() {
  const [selected, setSelected] = useState(null);
  const roles = useLiveData(() => api('GET', '/roles'), touches('role'));
  const { dialog, open, close, done } = useDialog(roles);
  const rows = roles.data ?? [];
  const current = rows.find((role) => role.idRole === selected) ?? null;
  const mayCheck = can(MAY.assign) || can(MAY.unassign);

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
          ${mayCheck && html`<button type="button" aria-pressed=${selected === role.idRole}
            onClick=${() => setSelected(role.idRole)}>${t('roles.permissions')}</button>`}
          ${can(MAY.edit) && html`<button type="button"
            onClick=${() => open({ kind: 'form', role })}>${t('action.edit')}</button>`}
          ${can(MAY.remove) && html`<button type="button" class="danger"
            onClick=${() => open({ kind: 'delete', role })}>${t('action.delete')}</button>`}
        </td>
      </tr>`)}
    <//>
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

/** Every permission, checked where `role` holds it; a click assigns or unassigns. */
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
  return html`<section class="card checklist" aria-labelledby="checklist-title">
    <h2 id="checklist-title">${t('roles.permissions_of', { name: role.roleName })}</h2>
    <${ErrorLine} text=${all.error || held.error} />
    <ul>
      ${(all.data ?? []).map((permission) => {
        const checked = holds.has(permission.idPermission);
        const allowed = checked ? can(MAY.unassign) : can(MAY.assign);
        return html`<li key=${permission.idPermission}>
          <label>
            <input type="checkbox" checked=${checked} disabled=${!allowed}
              onChange=${(event) => toggle(permission, event.target.checked)} />
            <code>${permission.nameUri}</code>
            <span class="muted">${permission.description}</span>
          </label>
        </li>`;
      })}
    </ul>
  </section>`;
}
