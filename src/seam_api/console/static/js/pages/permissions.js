// Permissions: the list, create, delete.
import { api } from '../api.js';
import { t } from '../i18n.js';
import { html, useState } from '../lib.js';
import { can } from '../session.js';
import { Confirm, Dialog, ErrorLine, Field, FormError, touches, useForm, useLiveData } from '../ui.js';

const MAY = { create: 'POST /api/v1/permission/register', remove: 'DELETE /api/v1/permission/:id' };

export function PermissionsPage() {
  const [dialog, setDialog] = useState(null);
  const permissions = useLiveData(() => api('GET', '/permission'), touches('permission'));
  const close = () => setDialog(null);
  const done = () => {
    setDialog(null);
    permissions.reload();
  };
  return html`<section aria-labelledby="permissions-title">
    <div class="page-head">
      <h1 id="permissions-title">${t('nav.permissions')}</h1>
      ${can(MAY.create) && html`<button type="button" class="primary"
        onClick=${() => setDialog({ kind: 'create' })}>${t('permissions.new')}</button>`}
    </div>
    <${ErrorLine} text=${permissions.error} />
    <div class="table-wrap">
      <table>
        <caption class="visually-hidden">${t('nav.permissions')}</caption>
        <thead><tr>
          <th scope="col">${t('field.id')}</th>
          <th scope="col">nameUri</th>
          <th scope="col">${t('field.description')}</th>
          <th scope="col"><span class="visually-hidden">${t('field.actions')}</span></th>
        </tr></thead>
        <tbody>
          ${(permissions.data ?? []).map((permission) => html`<tr key=${permission.idPermission}>
            <td>${permission.idPermission}</td>
            <td><code>${permission.nameUri}</code></td>
            <td>${permission.description}</td>
            <td class="row-actions">
              ${can(MAY.remove) && html`<button type="button" class="danger"
                onClick=${() => setDialog({ kind: 'delete', permission })}>${t('action.delete')}</button>`}
            </td>
          </tr>`)}
        </tbody>
      </table>
    </div>
    ${dialog?.kind === 'create' && html`<${CreatePermission} onClose=${close} onDone=${done} />`}
    ${dialog?.kind === 'delete' && html`<${Confirm}
      text=${t('permissions.delete_confirm', { name: dialog.permission.nameUri })}
      confirmLabel=${t('action.delete')} onClose=${close}
      onConfirm=${async () => {
        await api('DELETE', `/permission/${dialog.permission.idPermission}`);
        done();
      }} />`}
  </section>`;
}

function CreatePermission({ onClose, onDone }) {
  const form = useForm({ nameUri: '', description: '' });
  const save = async (values) => {
    await api('POST', '/permission/register', values);
    onDone();
  };
  return html`<${Dialog} title=${t('permissions.new')} onClose=${onClose}>
    <form onSubmit=${form.submit(save)}>
      <${Field} label=${t('field.nameUri')} name="nameUri" required value=${form.values.nameUri}
        onInput=${form.set('nameUri')} error=${form.fieldError('nameUri')} />
      <${Field} label=${t('field.description')} name="description" required
        value=${form.values.description} onInput=${form.set('description')}
        error=${form.fieldError('description')} />
      <${FormError} failure=${form.failure} />
      <div class="actions">
        <button type="button" onClick=${onClose}>${t('action.cancel')}</button>
        <button type="submit" class="primary" disabled=${form.busy}>${t('action.create')}</button>
      </div>
    </form>
  <//>`;
}
