// Who is signed in in this tab: the login's token, user, permissions and menu.
// Kept in sessionStorage, so a reload stays signed in and another tab signs in on its own.
import { createStore } from './lib.js';

const KEY = 'seam.session';

function restore() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY));
  } catch {
    return null;
  }
}

export const session = createStore(restore());

session.watch((value) => {
  if (value) sessionStorage.setItem(KEY, JSON.stringify(value));
  else sessionStorage.removeItem(KEY);
});

/** Does the signed-in role hold the permission `nameUri` ("PUT /api/v1/users/:id")? */
export function can(nameUri) {
  const wanted = nameUri.toLowerCase();
  return (session.get()?.permissions ?? []).some((name) => name.toLowerCase() === wanted);
}

/** Merge fresh fields (permissions, sidebarItems, user) into the session. */
export function updateSession(fields) {
  const current = session.get();
  if (current) session.set({ ...current, ...fields });
}

/** Why the last session ended, when the server ended it (shown on the sign-in page). */
export const endedBecause = createStore(null);

/** The server no longer accepts this tab's token (revoked, expired, account disabled). */
export function endSession(message) {
  endedBecause.set(message);
  session.set(null);
}
