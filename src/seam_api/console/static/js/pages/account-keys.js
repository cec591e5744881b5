// The API keys section of "My account" (pages/account.js includes it): create a key for some of
// your own permissions, see it once to copy it, list your keys with their last use, revoke one.
// The server decides what a key may do; the checklist only offers what your role holds.
import { api } from '../api.js';
import { t } from '../i18n.js';
import { html, useState, useStore } from '../lib.js';
import { session } from '../session.js';
import {
  Confirm, Dialog, ErrorLine, Field, FormError, Moment, Table, touches, useDialog, useForm,
  useLiveData,
} from '../ui.js';

export function ApiKeysSection() {
  const keys = useLiveData(() => api('GET', '/auth/keys'), touches('apikey'), [], { own: true });
  const { dialog, open, close, done } = useDialog(keys);
  return html`<section class="account-section card" aria-labelledby="keys-title">
    <div class="page-head">
      <h2 id="keys-title">${t('keys.title')}</h2>
      <button type="button" class="primary" onClick=${() => open({ kind: 'create' })}>
        ${t('keys.new')}</button>
    </div>
    <p class="muted">${t('keys.intro')}</p>
    <${ErrorLine} text=${keys.error} />
    <${Table} caption=${t('keys.title')} empty=${keys.data?.length === 0}
      columns=${[t('keys.name'), t('keys.permissions'), t('keys.expires'), t('keys.last_used')]}>
      ${(keys.data ?? []).map((key) => html`<tr key=${key.idKey}>
        <td>${key.name}</td>
        <td>${key.permissions.map((uri) => html`<code key=${uri}>${uri}</code> `)}</td>
        <td>${key.expiresAt ? html`<${Moment} iso=${key.expiresAt} />` : t('keys.never')}</td>
        <td>${key.lastUsedAt ? html`<${Moment} iso=${key.lastUsedAt} />` : t('keys.unused')}</td>
        <td class="row-actions">
          <button type="button" class="danger" onClick=${() => open({ kind: 'revoke', key })}>
            ${t('keys.revoke')}</button>
        </td>
      </tr>`)}
    <//>
    ${dialog?.kind === 'create' && html`<${CreateKey} onClose=${close}
      onCreated=${(created) => {
        keys.reload();
        open({ kind: 'created', created });
      }} />`}
    ${dialog?.kind === 'created' && html`<${CreatedKey} created=${dialog.created}
      onClose=${close} />`}
    ${dialog?.kind === 'revoke' && html`<${Confirm}
      text=${t('keys.revoke_confirm', { name: dialog.key.name })}
      confirmLabel=${t('keys.revoke')} onClose=${close}
      onConfirm=${async () => {
        await api('DELETE', `/auth/keys/${dialog.key.idKey}`);
        done();
      }} />`}
  </section>`;
}

function CreateKey({ onClose, onCreated }) {
  const held = useStore(session)?.permissions ?? [];
  const form = useForm({ name: '', expiresAt: '' });
  const [chosen, setChosen] = useState(() => new Set());
  const toggle = (uri, on) => setChosen((previous) => {
    const next = new Set(previous);
    if (on) next.add(uri);
    else next.delete(uri);
    return next;
  });
  const save = async ({ name, expiresAt }) => {
    const body = { name, permissions: held.filter((uri) => chosen.has(uri)) };
    // datetime-local is the browser's local time; the server wants an instant.
    if (expiresAt) body.expiresAt = new Date(expiresAt).toISOString();
    onCreated(await api('POST', '/auth/keys', body));
  };
  return html`<${Dialog} title=${t('keys.new')} onClose=${onClose} wide>
    <form onSubmit=${form.submit(save)}>
      <${Field} label=${t('keys.name')} name="key-name" required value=${form.values.name}
        onInput=${form.set('name')} error=${form.fieldError('name')} />
      <${Field} label=${t('keys.expires_optional')} name="key-expires" type="datetime-local"
        value=${form.values.expiresAt} onInput=${form.set('expiresAt')}
        error=${form.fieldError('expiresAt')} />
      <fieldset class="checklist">
        <legend>${t('keys.permissions')}</legend>
        ${held.length === 0 && html`<p class="muted">${t('keys.none_held')}</p>`}
        <ul>
          ${held.map((uri) => html`<li key=${uri}><label>
            <input type="checkbox" checked=${chosen.has(uri)}
              onChange=${(event) => toggle(uri, event.target.checked)} />
            <code>${uri}</code>
          </label></li>`)}
        </ul>
      </fieldset>
      <${FormError} failure=${form.failure} />
      <div class="actions">
        <button type="button" onClick=${onClose}>${t('action.cancel')}</button>
        <button type="submit" class="primary" disabled=${form.busy}>${t('action.create')}</button>
      </div>
    </form>
  <//>`;
}

/** The new key, shown this once: closing the dialog forgets it. */
function CreatedKey({ created, onClose }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    await navigator.clipboard.writeText(created.key);
    setCopied(true);
  };
  return html`<${Dialog} title=${t('keys.created_title', { name: created.name })} onClose=${onClose}>
    <p>${t('keys.created_text')}</p>
    <p><code class="secret" data-testid="api-key">${created.key}</code></p>
    <div class="actions">
      <button type="button" onClick=${copy}>${copied ? t('action.copied') : t('action.copy')}</button>
      <button type="button" class="primary" onClick=${onClose}>${t('action.done')}</button>
    </div>
  <//>`;
}
