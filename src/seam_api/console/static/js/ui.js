// Small shared pieces: live data loading, dialogs, form fields, the loader and the toasts.
import { api } from './api.js';
import { dismiss, loader, toast, toasts } from './feedback.js';
import { t, when } from './i18n.js';
import { onChange } from './live.js';
import { html, useCallback, useEffect, useRef, useState, useStore } from './lib.js';
import { can } from './session.js';

/**
 * Load with `load()` now, again when another tab's change matches `affects(operation)` (this
 * tab's own too with `{own: true}`: it usually reloads from the HTTP answer), and after a
 * resync. Returns `{data, error, reload}`.
 */
export function useLiveData(load, affects, deps = [], { own: includeOwn = false } = {}) {
  const [state, setState] = useState({ data: null, error: null });
  const reload = useCallback(async () => {
    try {
      setState({ data: await load(), error: null });
    } catch (error) {
      setState((previous) => ({ data: previous.data, error: error.message }));
    }
  }, deps);
  useEffect(() => {
    reload();
  }, [reload]);
  useEffect(
    () => onChange(({ event, own, resync }) => {
      if (resync || ((includeOwn || !own) && affects(event.operation))) reload();
    }),
    [reload],
  );
  return { ...state, reload };
}

/** A moment (ISO 8601) as the chosen language writes it, marked up as the time it is. */
export function Moment({ iso }) {
  return html`<time datetime=${iso}>${when(iso)}</time>`;
}

/** `operation` names one of these entities ("user:edit" -> "user"). */
export const touches = (...entities) => (operation) => entities.includes(operation.split(':')[0]);

/** Which dialog a page shows: `open({kind, ...})`, `close()`, and `done()`, which closes it
 * and reloads `data` (this tab's own change: other tabs hear of it by data:changed). */
export function useDialog(data) {
  const [dialog, setDialog] = useState(null);
  const close = () => setDialog(null);
  const done = () => {
    setDialog(null);
    data?.reload();
  };
  return { dialog, open: setDialog, close, done };
}

/** A page's title and its main action. */
export function PageHead({ id, title, children }) {
  return html`<div class="page-head"><h1 id=${id}>${title}</h1>${children}</div>`;
}

/**
 * A data table: columns (a title, or `{title, sort}` for a header that sorts by `sort`), then
 * the rows given as children (a last cell of actions). `sortBy` is the list's `sort` ("email",
 * "-email"); clicking a sortable header calls `onSort` with the next one. `lead` is an extra
 * first header cell (a select-all box). Below 640 px the rows show as cards: each cell is
 * labelled with its column's title here, so no page repeats the titles.
 */
export function Table({ caption, columns, empty, children, sortBy, onSort, lead }) {
  const ref = useRef(null);
  const titles = columns.map((column) => (typeof column === 'string' ? column : column.title));
  useEffect(() => {
    const offset = lead ? 1 : 0;
    for (const row of ref.current.querySelectorAll('tbody tr')) {
      [...row.children].forEach((cell, index) => {
        const title = titles[index - offset];
        if (title) cell.dataset.label = title;
      });
    }
  });
  const header = (column, title) => {
    if (typeof column === 'string' || !column.sort) return html`<th scope="col" key=${title}>${title}</th>`;
    const direction = sortBy === column.sort ? 'ascending' : sortBy === `-${column.sort}` ? 'descending' : 'none';
    const next = direction === 'ascending' ? `-${column.sort}` : column.sort;
    return html`<th scope="col" key=${title} aria-sort=${direction}>
      <button type="button" class="sort" onClick=${() => onSort(next)}>${title}
        <span aria-hidden="true">${{ ascending: ' ▲', descending: ' ▼', none: '' }[direction]}</span></button>
    </th>`;
  };
  return html`<div class="table-wrap" ref=${ref}>
    <table>
      <caption class="visually-hidden">${caption}</caption>
      <thead><tr>
        ${lead && html`<th scope="col" class="lead">${lead}</th>`}
        ${columns.map((column, index) => header(column, titles[index]))}
        <th scope="col"><span class="visually-hidden">${t('field.actions')}</span></th>
      </tr></thead>
      <tbody>${children}</tbody>
    </table>
    ${empty && html`<p class="muted">${t('table.empty')}</p>`}
  </div>`;
}

/** Previous and next, and where this page sits in the whole list when its total is known. */
export function Pager({ page, limit, total, count, onPage }) {
  const last = total == null ? null : Math.max(1, Math.ceil(total / limit));
  return html`<nav class="pager" aria-label=${t('table.pages')}>
    <button type="button" disabled=${page === 1} onClick=${() => onPage(page - 1)}>
      ${t('table.previous')}</button>
    <span>${last == null ? t('table.page', { page }) : t('table.page_of', { page, last, total })}</span>
    <button type="button" disabled=${last == null ? count < limit : page >= last}
      onClick=${() => onPage(page + 1)}>${t('table.next')}</button>
  </nav>`;
}

/** A modal <dialog>: focus moves into it, Escape closes it, focus returns where it was. */
export function Dialog({ title, onClose, children, wide }) {
  const ref = useRef(null);
  const titleId = useRef(`dialog-${Math.random().toString(36).slice(2)}`).current;
  useEffect(() => {
    const dialog = ref.current;
    const opener = document.activeElement;
    dialog.showModal();
    // Straight to the first field of a form; a dialog without one keeps the browser's choice.
    dialog.querySelector('input, select, textarea')?.focus();
    return () => {
      if (dialog.open) dialog.close();
      opener?.focus?.();
    };
  }, []);
  const cancel = (event) => {
    event.preventDefault();
    onClose();
  };
  return html`<dialog ref=${ref} class=${wide ? 'wide' : ''} aria-labelledby=${titleId}
      onCancel=${cancel}>
    <header class="dialog-head">
      <h2 id=${titleId}>${title}</h2>
      <button type="button" class="icon" aria-label=${t('action.close')} onClick=${onClose}>×</button>
    </header>
    ${children}
  </dialog>`;
}

/** Ask before a destructive action; `onConfirm` runs it and decides what shows next. */
export function Confirm({ text, confirmLabel, onConfirm, onClose }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const confirm = async () => {
    setBusy(true);
    try {
      await onConfirm();
    } catch (failure) {
      setError(failure.message);
      setBusy(false);
    }
  };
  return html`<${Dialog} title=${t('confirm.title')} onClose=${onClose}>
    <p>${text}</p>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <div class="actions">
      <button type="button" onClick=${onClose}>${t('action.cancel')}</button>
      <button type="button" class="danger" disabled=${busy} onClick=${confirm}>${confirmLabel}</button>
    </div>
  <//>`;
}

/** A labelled input; `error` is the server's message for this field. */
export function Field({ label, name, value, onInput, type = 'text', error, required, autocomplete, children }) {
  const id = `field-${name}`;
  const control = children
    ? html`<select id=${id} name=${name} value=${value} required=${required}
        aria-invalid=${error ? 'true' : undefined}
        onChange=${(event) => onInput(event.target.value)}>${children}</select>`
    : html`<input id=${id} name=${name} type=${type} value=${value} required=${required}
        autocomplete=${autocomplete} aria-invalid=${error ? 'true' : undefined}
        aria-describedby=${error ? `${id}-error` : undefined}
        onInput=${(event) => onInput(event.target.value)} />`;
  return html`<div class="field">
    <label for=${id}>${label}</label>
    ${control}
    ${error && html`<span id=${`${id}-error`} class="field-error">${error}</span>`}
  </div>`;
}

/** The form state and the server's answer to its submission. */
export function useForm(initial) {
  const [values, setValues] = useState(initial);
  const [failure, setFailure] = useState(null);
  const [busy, setBusy] = useState(false);
  const set = (name) => (value) => setValues((previous) => ({ ...previous, [name]: value }));
  const submit = (action) => async (event) => {
    event.preventDefault();
    setBusy(true);
    setFailure(null);
    try {
      await action(values);
    } catch (error) {
      setFailure(error);
    } finally {
      setBusy(false);
    }
  };
  const fieldError = (name) => failure?.field?.(name);
  return { values, setValues, set, submit, failure, busy, fieldError };
}

/** The form's general error (the server's message), announced to screen readers. */
export function FormError({ failure }) {
  return failure ? html`<p class="error" role="alert">${failure.message}</p>` : null;
}

export function ErrorLine({ text }) {
  return text ? html`<p class="error" role="alert">${text}</p>` : null;
}

/** The server's step messages for the running operation. */
export function Loader() {
  const current = useStore(loader);
  return html`<div class="loader" role="status" aria-live="polite" data-active=${current ? 'yes' : 'no'}>
    ${current && html`<span class=${current.done ? 'spinner done' : 'spinner'} aria-hidden="true"></span>
      <ol class="steps">${current.steps.map((step, index) => html`<li key=${index}>${step}</li>`)}</ol>`}
  </div>`;
}

export function Toasts() {
  const items = useStore(toasts);
  return html`<div class="toasts" role="status" aria-live="polite">
    ${items.map((item) => html`<div key=${item.id} class=${`toast ${item.kind}`}>
      <span>${item.text}</span>
      <button type="button" class="icon" aria-label=${t('action.dismiss')}
        onClick=${() => dismiss(item.id)}>×</button>
    </div>`)}
  </div>`;
}

/** Text for a 0/1 flag. */
export function activeLabel(isActive) {
  return isActive ? t('users.active') : t('users.inactive');
}

/**
 * Watch another tab's change to the record open in a form: returns `{stale, clear}`, where
 * `stale` is `{message, data, who, deleted}` once `matches(event)` saw one (`data`: the
 * event's record, when this role may read it). `who` comes from the
 * audit entry of the change when this role may read it.
 */
export function useStaleWatch(matches) {
  const [stale, setStale] = useState(null);
  useEffect(
    () => onChange(async ({ event, own }) => {
      if (!event || own || !matches(event)) return;
      const deleted = event.operation.endsWith(':delete');
      const { message, data } = event;
      setStale({ message, data, who: null, deleted });
      if (event.eventId && can('GET /api/v1/audit/:eventId')) {
        try {
          const entry = await api('GET', `/audit/${encodeURIComponent(event.eventId)}`);
          setStale({ message, data, who: entry.actorEmail, deleted });
        } catch {
          // The change is still reported, without its author.
        }
      }
    }),
    [],
  );
  return { stale, clear: () => setStale(null) };
}

/** The banner that replaces saving over someone else's change. */
export function StaleBanner({ stale, onReload }) {
  if (!stale) return null;
  const who = stale.who ? t('stale.by', { who: stale.who }) : t('stale.someone');
  return html`<div class="stale" role="alert">
    <p>${stale.deleted ? t('stale.deleted', { who }) : t('stale.changed', { who })}</p>
    <p class="muted">${stale.message}</p>
    ${!stale.deleted && html`<button type="button" class="primary" onClick=${onReload}>
      ${t('stale.reload')}</button>`}
  </div>`;
}

/** Run a one-click action (no form to show its error in): a failure becomes a toast, also
 * one the server refused before its operation began (403, 400), which has no progress event. */
export async function attempt(action) {
  try {
    await action();
  } catch (error) {
    toast('error', error.message);
  }
}
