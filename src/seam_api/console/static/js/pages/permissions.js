// Permissions: the list, create, delete.
import { api } from '../api.js';
import { t } from '../i18n.js';
import { html } from '../lib.js';
import { can } from '../session.js';
import {
  Confirm, Dialog, ErrorLine, Field, FormError, PageHead, Table, touches, useDialog, useForm,
  useLiveData,
} from '../ui.js';

const MAY = { create: 'POST /api/v1/permission/register', remove: 'DELETE /api/v1/permission/:id' };

export function PermissionsPage() {
  const permissions = useLiveData(() => api('GET', '/permission'), touches('permission'));
  const { dialog, open, close, done } = useDialog(permissions);
  return html`<section aria-labelledby="permissions-title">
    <${PageHead} id="permissions-title" title=${t('nav.permissions')}>
      ${can(MAY.create) && html`<button type="button" class="primary"
        onClick=${() => open({ kind: 'create' })}>${t('permissions.new')}</button>`}
    <//>
    <${ErrorLine} text=${permissions.error} />
    <${Table} caption=${t('nav.permissions')}
      columns=${[t('field.id'), 'nameUri', t('field.description')]}>
      ${(permissions.data ?? []).map((permission) => html`<tr key=${permission.idPermission}>
        <td>${permission.idPermission}</td>
        <td><code>${permission.nameUri}</code></td>
        <td>${permission.description}</td>
        <td class="row-actions">
          ${can(MAY.remove) && html`<button type="button" class="danger"
            onClick=${() => open({ kind: 'delete', permission })}>${t('action.delete')}</button>`}
        </td>
      </tr>`)}
    <//>
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
