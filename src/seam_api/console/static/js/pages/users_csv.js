// Users as CSV: export what the filters match, and import a file through a preview that
// names each bad row before anything is written (POST /users/import, all rows or none).
import { api, query } from '../api.js';
import { t } from '../i18n.js';
import { html, useEffect, useState } from '../lib.js';
import { Dialog, ErrorLine } from '../ui.js';

const COLUMNS = ['idUser', 'full_name', 'email', 'roleId', 'roleName', 'isActive'];

/** One CSV cell: quoted when needed, and a leading apostrophe on what a spreadsheet would
 * run as a formula (as the audit export does). */
function cell(value) {
  let text = value == null ? '' : String(value);
  if (/^[=+\-@]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** Every user the filters match, a page of 200 at a time, saved as users.csv. */
export async function exportUsers(filters) {
  const lines = [COLUMNS.join(',')];
  for (let page = 1; ; page += 1) {
    const batch = await api('GET', `/users${query({ ...filters, page, limit: 200 })}`);
    lines.push(...batch.map((user) => COLUMNS.map((name) => cell(user[name])).join(',')));
    if (batch.length < 200) break;
  }
  const url = URL.createObjectURL(new Blob([`${lines.join('\r\n')}\r\n`], { type: 'text/csv' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = 'users.csv';
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** RFC 4180 records: quoted cells may hold commas, quotes ("") and line breaks. */
export function parseCsv(text) {
  const records = [];
  let record = [];
  let value = '';
  let quoted = false;
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index];
    if (quoted) {
      if (char === '"' && text[index + 1] === '"') {
        value += '"';
        index += 1;
      } else if (char === '"') quoted = false;
      else value += char;
    } else if (char === '"') quoted = true;
    else if (char === ',') {
      record.push(value);
      value = '';
    } else if (char === '\n' || char === '\r') {
      if (char === '\r' && text[index + 1] === '\n') index += 1;
      record.push(value);
      records.push(record);
      record = [];
      value = '';
    } else value += char;
  }
  if (value || record.length) records.push([...record, value]);
  return records.filter((cells) => cells.some((item) => item.trim() !== ''));
}

/** The import's rows from a CSV with a header line: `full_name`, `email` and a `roleId` or
 * a `roleName` (the export's columns work as they are). */
function rowsOf(text, roles) {
  const [header, ...records] = parseCsv(text.replace(/^\uFEFF/, ''));
  const names = (header ?? []).map((name) => name.trim());
  return records.map((cells) => {
    const raw = Object.fromEntries(names.map((name, index) => [name, (cells[index] ?? '').trim()]));
    const row = { full_name: raw.full_name ?? '', email: raw.email ?? '' };
    const byName = raw.roleName && roles.find((role) => role.roleName === raw.roleName);
    if (raw.roleId) row.roleId = /^\d+$/.test(raw.roleId) ? Number(raw.roleId) : raw.roleId;
    else if (byName) row.roleId = byName.idRole;
    return row;
  });
}

export function ImportUsers({ roles, onClose, onDone }) {
  const [rows, setRows] = useState(null);
  const [preview, setPreview] = useState(null);
  const [created, setCreated] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  // Invitations instead of temporary passwords, offered when the server can send mail.
  const [mail, setMail] = useState(false);
  const [invite, setInvite] = useState(false);
  useEffect(() => {
    api('GET', '/auth/password/options')
      .then((options) => setMail(Boolean(options?.resetByEmail)))
      .catch(() => setMail(false));
  }, []);
  const run = async (action) => {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (failure) {
      setError(failure.message);
    } finally {
      setBusy(false);
    }
  };
  const choose = (event) => run(async () => {
    const file = event.target.files[0];
    if (!file) return;
    const parsed = rowsOf(await file.text(), roles);
    setRows(parsed);
    setPreview(null);
    if (parsed.length) setPreview(await api('POST', '/users/import', { rows: parsed, dryRun: true }));
    else setError(t('import.empty'));
  });
  const commit = () => run(async () => {
    const result = await api('POST', '/users/import', { rows, invite });
    setCreated(result.created);
    onDone();
  });
  if (created && invite) {
    return html`<${Dialog} title=${t('import.created_title')} onClose=${onClose}>
      <p role="status">${t('import.invited_text', { count: created.length })}</p>
      <div class="actions"><button type="button" class="primary" onClick=${onClose}>${t('action.done')}</button></div>
    <//>`;
  }
  if (created) {
    return html`<${Dialog} title=${t('import.created_title')} onClose=${onClose} wide>
      <p>${t('import.created_text', { count: created.length })}</p>
      <div class="table-wrap"><table>
        <thead><tr><th scope="col">${t('field.email')}</th><th scope="col">${t('field.password')}</th></tr></thead>
        <tbody>${created.map((user) => html`<tr key=${user.idUser}>
          <td>${user.email}</td><td><code class="secret">${user.temporaryPassword}</code></td></tr>`)}</tbody>
      </table></div>
      <div class="actions"><button type="button" class="primary" onClick=${onClose}>${t('action.done')}</button></div>
    <//>`;
  }
  const problems = preview?.errors ?? [];
  return html`<${Dialog} title=${t('import.title')} onClose=${onClose} wide>
    <p class="muted">${t('import.help')}</p>
    <div class="field">
      <label for="import-file">${t('import.file')}</label>
      <input id="import-file" type="file" accept=".csv,text/csv" onChange=${choose} />
    </div>
    ${mail && html`<div class="field checkbox">
      <input id="import-invite" type="checkbox" checked=${invite}
        onChange=${(event) => setInvite(event.target.checked)} />
      <label for="import-invite">${t('import.invite')}</label>
    </div>`}
    <${ErrorLine} text=${error} />
    ${preview && html`<p role="status" class=${problems.length ? 'error' : ''}>
      ${problems.length ? t('import.problems', { count: problems.length, total: preview.total })
        : t('import.ready', { total: preview.total })}</p>`}
    ${problems.length > 0 && html`<div class="table-wrap"><table>
      <caption class="visually-hidden">${t('import.problems_caption')}</caption>
      <thead><tr><th scope="col">${t('import.row')}</th><th scope="col">${t('import.field')}</th>
        <th scope="col">${t('import.message')}</th></tr></thead>
      <tbody>${problems.map((problem, index) => html`<tr key=${index} data-row=${problem.row}>
        <td>${problem.row}</td><td>${problem.field}</td><td>${problem.message}</td></tr>`)}</tbody>
    </table></div>`}
    <div class="actions">
      <button type="button" onClick=${onClose}>${t('action.cancel')}</button>
      <button type="button" class="primary" disabled=${busy || !preview || problems.length > 0}
        onClick=${commit}>${t('import.commit', { total: preview?.total ?? 0 })}</button>
    </div>
  <//>`;
}
