// The browser's path is the page: /admin/users. The server answers index.html for every
// /admin path, so a reload or a shared link lands on the same page.
import { createStore } from './lib.js';

export const route = createStore(window.location.pathname.replace(/\/+$/, ''));

/** Show `path`. A link the user followed moves focus to the new page; a redirect (`replace`)
 * leaves focus where the user has it. */
export function navigate(path, { replace = false } = {}) {
  if (path === route.get()) return;
  if (replace) {
    window.history.replaceState(null, '', path);
    route.set(path);
    return;
  }
  window.history.pushState(null, '', path);
  route.set(path);
  document.getElementById('main')?.focus();
}

window.addEventListener('popstate', () => route.set(window.location.pathname));
