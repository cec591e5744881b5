// What the user sees of running work: the loader (the server's step messages for the current
// operation) and the toasts that end it.
import { createStore } from './lib.js';
import { READ_OPERATIONS, READ_SUFFIXES } from './operations.js';

/** `{operation, steps: [message, ...], done}` while an operation runs (and briefly after),
 * else null. */
export const loader = createStore(null);
/** Visible toasts: `{id, kind: 'success' | 'error', text}`. */
export const toasts = createStore([]);

const TOAST_MS = 6000;
let nextToast = 1;

/** Show a toast; the same one already showing is not repeated (an outcome can be told by
 * both the progress event and the HTTP answer). */
export function toast(kind, text) {
  if (toasts.get().some((item) => item.kind === kind && item.text === text)) return;
  const id = nextToast++;
  toasts.set([...toasts.get(), { id, kind, text }]);
  setTimeout(() => dismiss(id), TOAST_MS);
}

export function dismiss(id) {
  toasts.set(toasts.get().filter((item) => item.id !== id));
}

/** Reads show no loader or toast: tables load quietly; mutations are what the user waits on.
 * Which operations read is the server's list, served as operations.js. */
export function isRead(operation) {
  return READ_OPERATIONS.includes(operation) || READ_SUFFIXES.some((end) => operation.endsWith(end));
}

// The finished steps stay this long, so that a fast operation's steps can still be read.
const LINGER_MS = 800;
let lingering = null;

// While a bulk action runs, its own counter is the loader: the step messages and toasts of
// each row's operation would flood the screen.
let bulkRunning = false;

/**
 * Run `action(item)` for each item, one at a time, with one loader counting through them
 * (`label` gets {done} and {total}). Resolves with `[{item, error}]` for those that failed.
 */
export async function runBulk(label, items, action) {
  const failures = [];
  bulkRunning = true;
  clearTimeout(lingering);
  try {
    for (const [index, item] of items.entries()) {
      loader.set({ operation: 'bulk', steps: [label({ done: index, total: items.length })], done: false });
      try {
        await action(item);
      } catch (error) {
        failures.push({ item, error });
      }
    }
  } finally {
    bulkRunning = false;
    loader.set({ operation: 'bulk', steps: [label({ done: items.length, total: items.length })], done: true });
    lingering = setTimeout(() => loader.set(null), LINGER_MS);
  }
  return failures;
}

/** One `operation:progress` event. */
export function progress({ operation, status, message }) {
  if (isRead(operation) || bulkRunning) return;
  clearTimeout(lingering);
  if (status === 'start') {
    loader.set({ operation, steps: [message], done: false });
  } else if (status === 'processing') {
    const current = loader.get();
    const steps = current?.operation === operation ? current.steps : [];
    loader.set({ operation, steps: [...steps, message], done: false });
  } else {
    const current = loader.get();
    if (current) loader.set({ ...current, done: true });
    lingering = setTimeout(() => loader.set(null), LINGER_MS);
    toast(status === 'success' ? 'success' : 'error', message);
  }
}
