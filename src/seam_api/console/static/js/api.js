// Every HTTP call of the console: the token, the tab's socket id (so progress events come back
// to this tab) and the chosen language (so the server's messages follow it).
import { toast } from './feedback.js';
import { locale } from './i18n.js';
import { socketId } from './live.js';
import { endSession, session } from './session.js';

const SESSION_PATHS = ['/auth/login', '/auth/login/mfa', '/auth/logout'];

// 401s that mean a wrong answer in a form, not a dead session: sign-in, codes, passwords.
const UNSIGNED_401 = /^\/auth\/(login|password|mfa\/)/;

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.message || `HTTP ${status}`);
    this.status = status;
    this.errors = body?.errors ?? [];
  }

  /** The message of the 400's entry for `field`, if any. */
  field(name) {
    return this.errors.find((problem) => problem.field === name)?.message;
  }
}

function headers(extra) {
  const result = { Accept: 'application/json', 'Accept-Language': locale.get(), ...extra };
  const token = session.get()?.token;
  if (token) result.Authorization = `Bearer ${token}`;
  const id = socketId();
  if (id) result['X-Socket-ID'] = id;
  return result;
}

/** Call `METHOD /api/v1{path}`; resolves with the whole envelope, throws ApiError. */
export async function request(method, path, body) {
  const init = { method, headers: headers() };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const live = Boolean(init.headers['X-Socket-ID']);
  const response = await fetch(`/api/v1${path}`, init);
  const envelope = await response.json().catch(() => null);
  const succeeded = response.ok && Boolean(envelope?.success);
  // Without a live connection no progress event reaches this tab: the answer tells instead.
  if (!live && method !== 'GET' && !SESSION_PATHS.includes(path) && envelope?.message) {
    toast(succeeded ? 'success' : 'error', envelope.message);
  }
  if (!succeeded) {
    const error = new ApiError(response.status, envelope);
    // A revoked or expired token ends this tab's session (not the login form's own 401).
    if (response.status === 401 && session.get() && !UNSIGNED_401.test(path)) endSession(error.message);
    throw error;
  }
  return envelope;
}

/** Call and keep only the envelope's `data`. */
export async function api(method, path, body) {
  return (await request(method, path, body)).data;
}

/** A query string from the non-empty values of `params`. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(name, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

/** Fetch a file with the token (a plain link cannot send it) and hand it to the browser. */
export async function download(path, filename) {
  const response = await fetch(`/api/v1${path}`, { headers: headers() });
  if (!response.ok) {
    const body = await response.json().catch(() => null);
    throw new ApiError(response.status, body);
  }
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
