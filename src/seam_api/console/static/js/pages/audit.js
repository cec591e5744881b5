// Audit: who changed what, when and from where. Filters, each entry's changes as before and
// after, export of the filtered entries, and a live tail that reloads the newest page whenever
// a change is made anywhere.
import { api, download, query } from '../api.js';
import { t } from '../i18n.js';
import { html, useState } from '../lib.js';
import { can } from '../session.js';
import {
  attempt, Dialog, ErrorLine, Field, Moment, PageHead, Table, useForm, useLiveData,
} from '../ui.js';

const LIMIT = 50;
const ENTITIES = ['user', 'role', 'permission', 'sidebar', 'session', 'apikey', 'mfa'];
const EMPTY = { actorId: '', operation: '', entity: '', entityId: '', from: '', to: '' };

/** The filters as the API takes them (dates as ISO 8601). */
function params(filters) {
  const iso = (value) => (value ? new Date(value).toISOString() : '');
  return { ...filters, from: iso(filters.from), to: iso(filters.to) };
}

export function AuditPage() {
  const form = useForm(EMPTY);
  const [filters, setFilters] = useState(EMPTY);
  const [before, setBefore] = useState(null);
  const [live, setLive] = useState(true);
  const [open, setOpen] = useState(null);
  // The tail follows the newest page only; paging back through history holds still.
  const following = live && before === null;
  const entries = useLiveData(
    () => api('GET', `/audit${query({ ...params(filters), before, limit: LIMIT })}`),
    () => following,
    [filters, before, following],
    { own: true },
  );
  const rows = entries.data ?? [];
  const apply = async (values) => {
    setFilters(values);
    setBefore(null);
  };
  const clear = () => {
    form.setValues(EMPTY);
    setFilters(EMPTY);
    setBefore(null);
  };
  const exportAs = (format) => attempt(() => download(
    `/audit/export${query({ ...params(filters), format })}`,
    `seam-audit.${format === 'csv' ? 'csv' : 'ndjson'}`,
  ));

  return html`<section aria-labelledby="audit-title">
    <${PageHead} id="audit-title" title=${t('nav.audit')}>
      <label class="inline">
        <input type="checkbox" checked=${live} onChange=${(event) => setLive(event.target.checked)} />
        ${t('audit.live')}
      </label>
    <//>
    <form class="filters card" onSubmit=${form.submit(apply)} aria-label=${t('audit.filters')}>
      <${Field} label=${t('audit.actorId')} name="actorId" type="number" value=${form.values.actorId}
        onInput=${form.set('actorId')} />
      <${Field} label=${t('audit.operation')} name="operation" value=${form.values.operation}
        onInput=${form.set('operation')} />
      <${Field} label=${t('audit.entity')} name="entity" value=${form.values.entity}
        onInput=${form.set('entity')}>
        <option value="">${t('audit.any')}</option>
        ${ENTITIES.map((entity) => html`<option key=${entity} value=${entity}>${entity}</option>`)}
      <//>
      <${Field} label=${t('audit.entityId')} name="entityId" value=${form.values.entityId}
        onInput=${form.set('entityId')} />
      <${Field} label=${t('audit.from')} name="from" type="datetime-local" value=${form.values.from}
        onInput=${form.set('from')} />
      <${Field} label=${t('audit.to')} name="to" type="datetime-local" value=${form.values.to}
        onInput=${form.set('to')} />
      <div class="actions">
        <button type="button" onClick=${clear}>${t('audit.clear')}</button>
        <button type="submit" class="primary">${t('audit.apply')}</button>
      </div>
    </form>
    ${can('GET /api/v1/audit/export') && html`<div class="actions start">
      <button type="button" onClick=${() => exportAs('csv')}>${t('audit.export_csv')}</button>
      <button type="button" onClick=${() => exportAs('ndjson')}>${t('audit.export_ndjson')}</button>
    </div>`}
    <${ErrorLine} text=${entries.error} />
    <${Table} caption=${t('nav.audit')} empty=${entries.data && rows.length === 0}
      columns=${['#', t('audit.when'), t('audit.actor'), t('audit.operation'), t('audit.entity'), t('audit.message')]}>
      ${rows.map((entry) => html`<tr key=${entry.eventId}>
        <td>${entry.eventId}</td>
        <td><${Moment} iso=${entry.occurredAt} /></td>
        <td>${entry.actorEmail ?? entry.actorId ?? ''}</td>
        <td><code>${entry.operation}</code></td>
        <td>${entry.entity}${entry.entityId ? ` ${entry.entityId}` : ''}</td>
        <td>${entry.message}</td>
        <td class="row-actions">
          <button type="button" onClick=${() => setOpen(entry)}>${t('audit.details')}</button>
        </td>
      </tr>`)}
    <//>
    <nav class="pager" aria-label=${t('table.pages')}>
      <button type="button" disabled=${before === null} onClick=${() => setBefore(null)}>
        ${t('audit.newest')}</button>
      <button type="button" disabled=${rows.length < LIMIT}
        onClick=${() => setBefore(rows[rows.length - 1].eventId)}>${t('audit.older')}</button>
    </nav>
    ${open && html`<${Entry} entry=${open} onClose=${() => setOpen(null)} />`}
  </section>`;
}

/** A value of `changes` as text: JSON for anything but a string; null as an em dash. (A
 * secret, such as a password, is recorded as changed with both values null.) */
function shown(value) {
  if (value === null || value === undefined) return '—';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function Entry({ entry, onClose }) {
  const changes = Object.entries(entry.changes ?? {});
  return html`<${Dialog} title=${t('audit.entry', { id: entry.eventId })} onClose=${onClose} wide>
    <dl class="facts">
      <dt>${t('audit.when')}</dt><dd>${entry.occurredAt}</dd>
      <dt>${t('audit.actor')}</dt><dd>${entry.actorEmail ?? ''} ${entry.actorId ? `(#${entry.actorId})` : ''}</dd>
      <dt>${t('audit.operation')}</dt><dd><code>${entry.operation}</code></dd>
      <dt>${t('audit.entity')}</dt><dd>${entry.entity} ${entry.entityId ?? ''}</dd>
      <dt>${t('audit.message')}</dt><dd>${entry.message}</dd>
      <dt>${t('audit.address')}</dt><dd>${entry.ip ?? t('audit.hidden')}</dd>
      <dt>${t('audit.agent')}</dt><dd>${entry.userAgent ?? t('audit.hidden')}</dd>
    </dl>
    <h3>${t('audit.changes')}</h3>
    ${changes.length === 0 ? html`<p class="muted">${t('audit.no_changes')}</p>` : html`<div class="table-wrap">
      <table class="changes">
        <thead><tr>
          <th scope="col">${t('audit.field')}</th>
          <th scope="col">${t('audit.before')}</th>
          <th scope="col">${t('audit.after')}</th>
        </tr></thead>
        <tbody>
          ${changes.map(([field, [before, after]]) => html`<tr key=${field}>
            <th scope="row"><code>${field}</code></th>
            ${before === null && after === null
              ? html`<td colspan="2" class="muted">${t('audit.secret')}</td>`
              : html`<td class="before">${shown(before)}</td><td class="after">${shown(after)}</td>`}
          </tr>`)}
        </tbody>
      </table>
    </div>`}
  <//>`;
}
