// Sidebar: the menu items and which roles see each.
//
// With GET /sidebar/all the page shows every item and its roles as the server has them. A
// role without it sees its own items (GET /sidebar) plus what the page learns while open:
// items created, edited and assigned here or in other tabs (their data:changed events).
import { api } from '../api.js';
import { t } from '../i18n.js';
import { html, useEffect, useState } from '../lib.js';
import { onChange } from '../live.js';
import { can, session } from '../session.js';
import {
  attempt, Confirm, Dialog, ErrorLine, Field, FormError, PageHead, Table, touches, useDialog,
  useForm, useLiveData,
} from '../ui.js';

const MAY = {
  all: 'GET /api/v1/sidebar/all',
  create: 'POST /api/v1/sidebar',
  edit: 'PUT /api/v1/sidebar/:idItem',
  remove: 'DELETE /api/v1/sidebar/:idItem',
  assign: 'POST /api/v1/sidebar/:idItem/role/:idRole',
  unassign: 'DELETE /api/v1/sidebar/:idItem/role/:idRole',
};

/** What this page has learnt: items by id, and role names by item id and role id. */
function useKnown() {
  const [known, setKnown] = useState({ items: new Map(), roles: new Map() });
  const learn = (operation, data) => setKnown((previous) => {
    if (!data) return previous;
    const items = new Map(previous.items);
    const roles = new Map(previous.roles);
    const rolesOf = (id) => new Map(roles.get(id) ?? []);
    if (operation === 'sidebar:create' || operation === 'sidebar:edit') {
      items.set(data.idItem, data);
    } else if (operation === 'sidebar:delete') {
      items.delete(data.idItem);
      roles.delete(data.idItem);
    } else if (operation === 'sidebar:assign') {
      roles.set(data.idItem, rolesOf(data.idItem).set(data.idRole, data.roleName));
    } else if (operation === 'sidebar:unassign') {
      const next = rolesOf(data.idItem);
      next.delete(data.idRole);
      roles.set(data.idItem, next);
    } else {
      return previous;
    }
    return { items, roles };
  });
  useEffect(() => onChange(({ event }) => event && learn(event.operation, event.data)), []);
  return [known, learn];
}

export function SidebarPage() {
  const [known, learn] = useKnown();
  const every = can(MAY.all);
  // Role renames and deletions change the roles shown, so role changes reload the list too.
  const mine = useLiveData(
    () => api('GET', every ? '/sidebar/all' : '/sidebar'),
    every ? touches('sidebar', 'role') : touches('sidebar'),
  );
  const { dialog, open, close } = useDialog(mine);
  const roles = useLiveData(() => api('GET', '/roles'), touches('role'));
  const me = session.get()?.user;

  const items = new Map(every ? [] : known.items);
  for (const item of mine.data ?? []) items.set(item.idItem, item);
  const rows = [...items.values()].sort((a, b) => a.idItem - b.idItem);
  const rolesOf = (item) => {
    if (every) return (item.roles ?? []).map((role) => role.roleName);
    const names = new Map(known.roles.get(item.idItem) ?? []);
    if ((mine.data ?? []).some((own) => own.idItem === item.idItem)) names.set(me.roleId, me.roleName);
    return [...names.values()];
  };
  const mutate = (operation) => async (method, path, body) => {
    const data = await api(method, path, body);
    learn(operation, data);
    mine.reload();
    return data;
  };

  return html`<section aria-labelledby="sidebar-title">
    <${PageHead} id="sidebar-title" title=${t('nav.sidebar')}>
      ${can(MAY.create) && html`<button type="button" class="primary"
        onClick=${() => open({ kind: 'form' })}>${t('sidebar.new')}</button>`}
    <//>
    <p class="muted">${every ? t('sidebar.all_note') : t('sidebar.note')}</p>
    <${ErrorLine} text=${mine.error} />
    <${Table} caption=${t('nav.sidebar')}
      columns=${[t('field.id'), t('field.nameItem'), t('field.iconItem'), t('field.route'),
        every ? t('field.roles') : t('sidebar.seen_roles')]}>
      ${rows.map((item) => html`<tr key=${item.idItem}>
        <td>${item.idItem}</td>
        <td class="name">${item.nameItem}</td>
        <td>${item.iconItem}</td>
        <td><code>${item.route}</code></td>
        <td>${rolesOf(item).join(', ')}</td>
        <td class="row-actions">
          ${(can(MAY.assign) || can(MAY.unassign)) && html`<button type="button"
            onClick=${() => open({ kind: 'roles', item })}>${t('field.roles')}</button>`}
          ${can(MAY.edit) && html`<button type="button"
            onClick=${() => open({ kind: 'form', item })}>${t('action.edit')}</button>`}
          ${can(MAY.remove) && html`<button type="button" class="danger"
            onClick=${() => open({ kind: 'delete', item })}>${t('action.delete')}</button>`}
        </td>
      </tr>`)}
    <//>
    ${dialog?.kind === 'form' && html`<${ItemForm} item=${dialog.item} onClose=${close}
      save=${mutate(dialog.item ? 'sidebar:edit' : 'sidebar:create')} />`}
    ${dialog?.kind === 'roles' && html`<${ItemRoles} item=${dialog.item} roles=${roles.data ?? []}
      onClose=${close} assign=${mutate('sidebar:assign')} unassign=${mutate('sidebar:unassign')} />`}
    ${dialog?.kind === 'delete' && html`<${Confirm}
      text=${t('sidebar.delete_confirm', { name: dialog.item.nameItem })}
      confirmLabel=${t('action.delete')} onClose=${close}
      onConfirm=${async () => {
        await mutate('sidebar:delete')('DELETE', `/sidebar/${dialog.item.idItem}`);
        close();
      }} />`}
  </section>`;
}

function ItemForm({ item, onClose, save }) {
  const form = useForm({
    nameItem: item?.nameItem ?? '',
    iconItem: item?.iconItem ?? '',
    route: item?.route ?? '',
  });
  const submit = async (values) => {
    if (item) await save('PUT', `/sidebar/${item.idItem}`, values);
    else await save('POST', '/sidebar', values);
    onClose();
  };
  const title = item ? t('sidebar.edit', { name: item.nameItem }) : t('sidebar.new');
  return html`<${Dialog} title=${title} onClose=${onClose}>
    <form onSubmit=${form.submit(submit)}>
      <${Field} label=${t('field.nameItem')} name="nameItem" required value=${form.values.nameItem}
        onInput=${form.set('nameItem')} error=${form.fieldError('nameItem')} />
      <${Field} label=${t('field.iconItem')} name="iconItem" value=${form.values.iconItem}
        onInput=${form.set('iconItem')} error=${form.fieldError('iconItem')} />
      <${Field} label=${t('field.route')} name="route" value=${form.values.route}
        onInput=${form.set('route')} error=${form.fieldError('route')} />
      <${FormError} failure=${form.failure} />
      <div class="actions">
        <button type="button" onClick=${onClose}>${t('action.cancel')}</button>
        <button type="submit" class="primary" disabled=${form.busy}>
          ${item ? t('action.save') : t('action.create')}</button>
      </div>
    </form>
  <//>`;
}

/** Assign the item to a role, or take it away. */
function ItemRoles({ item, roles, onClose, assign, unassign }) {
  const [roleId, setRoleId] = useState(roles[0] ? String(roles[0].idRole) : '');
  const path = () => `/sidebar/${item.idItem}/role/${roleId}`;
  return html`<${Dialog} title=${`${t('field.roles')}: ${item.nameItem}`} onClose=${onClose}>
    <${Field} label=${t('sidebar.assign_to')} name="sidebar-role" value=${roleId} onInput=${setRoleId}>
      ${roles.map((role) => html`<option key=${role.idRole} value=${String(role.idRole)}>${role.roleName}</option>`)}
    <//>
    <div class="actions">
      ${can(MAY.unassign) && html`<button type="button"
        onClick=${() => attempt(() => unassign('DELETE', path()))}>${t('action.unassign')}</button>`}
      ${can(MAY.assign) && html`<button type="button" class="primary"
        onClick=${() => attempt(() => assign('POST', path()))}>${t('action.assign')}</button>`}
    </div>
  <//>`;
}
