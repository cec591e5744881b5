// The tab's tokens: a sign-in starts them, a timer refreshes the access token a minute before
// it expires (POST /auth/refresh rotates the refresh token too), and a refused refresh ends
// the session. A server that answers no refreshToken leaves the old behaviour: sign in again.
import { locale } from './i18n.js';
import { endSession, session, updateSession } from './session.js';

const EARLY_MS = 60_000;
const SOONEST_MS = 5_000;

/** What the session keeps of a sign-in's (or a password change's) tokens. */
export function tokenFields(data) {
  return {
    token: data.token,
    refreshToken: data.refreshToken ?? null,
    expiresAt: Date.now() + data.expiresIn * 1000,
  };
}

/** Sign this tab in with the data of POST /auth/login or /auth/login/mfa. */
export function startSession(data) {
  session.set({
    ...tokenFields(data),
    user: data.user,
    permissions: data.permissions,
    sidebarItems: data.sidebarItems,
    mustChangePassword: Boolean(data.mustChangePassword),
    mfaEnrolmentRequired: Boolean(data.mfaEnrolmentRequired),
  });
}

async function refreshNow() {
  const current = session.get();
  if (!current?.refreshToken) return;
  const response = await fetch('/api/v1/auth/refresh', {
    method: 'POST',
    headers: {
      Accept: 'application/json',
      'Accept-Language': locale.get(),
      'Content-Type': 'application/json',
    },
    body: JSON.stringify({ refreshToken: current.refreshToken }),
  });
  const envelope = await response.json().catch(() => null);
  if (response.ok && envelope?.success) updateSession(tokenFields(envelope.data));
  else if (response.status === 401) endSession(envelope?.message ?? `HTTP ${response.status}`);
}

/** Keep the access token fresh while signed in; returns the function that stops it. */
export function keepFresh() {
  let timer = null;
  const schedule = (current) => {
    clearTimeout(timer);
    if (!current?.refreshToken || !current.expiresAt) return;
    const wait = Math.max(current.expiresAt - Date.now() - EARLY_MS, SOONEST_MS);
    timer = setTimeout(() => refreshNow().catch(() => schedule(session.get())), wait);
  };
  schedule(session.get());
  const stop = session.watch(schedule);
  return () => {
    stop();
    clearTimeout(timer);
  };
}
