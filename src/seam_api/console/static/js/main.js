// The console's shell: sign-in gate, header, navigation from the role's menu and permissions,
// and the page for the current path (/admin/users, /admin/roles, ...).
import { api, request } from './api.js';
import { locale, t } from './i18n.js';
import { html, render, useEffect, useStore } from './lib.js';
import { connect, connection, disconnect, onChange } from './live.js';
import { AccountPage, MfaSection, PasswordSection } from './pages/account.js';
import { AuditPage } from './pages/audit.js';
import { LoginPage } from './pages/login.js';
import { PermissionsPage } from './pages/permissions.js';
import { RESET_PATH, ResetPage } from './pages/reset.js';
import { RolesPage } from './pages/roles.js';
import { SidebarPage } from './pages/sidebar.js';
import { UsersPage } from './pages/users.js';
import { Preferences } from './preferences.js';
import { navigate, route } from './route.js';
import { can, session, updateSession } from './session.js';
import { keepFresh } from './tokens.js';
import { Loader, Toasts } from './ui.js';

const anyOf = (...names) => () => names.some(can);

// A page is offered when the role holds a permission the page exists to use.
const PAGES = [
  { path: '/admin/users', label: 'nav.users', Page: UsersPage, allowed: anyOf('GET /api/v1/users') },
  {
    path: '/admin/roles',
    label: 'nav.roles',
    Page: RolesPage,
    allowed: anyOf('POST /api/v1/roles', 'PUT /api/v1/roles/:idRole', 'DELETE /api/v1/roles/:idRole',
      'POST /api/v1/permission/assign', 'DELETE /api/v1/permission/unassign'),
  },
  {
    path: '/admin/permissions',
    label: 'nav.permissions',
    Page: PermissionsPage,
    allowed: anyOf('POST /api/v1/permission/register', 'DELETE /api/v1/permission/:id'),
  },
  {
    path: '/admin/sidebar',
    label: 'nav.sidebar',
    Page: SidebarPage,
    allowed: anyOf('GET /api/v1/sidebar/all', 'POST /api/v1/sidebar', 'PUT /api/v1/sidebar/:idItem',
      'DELETE /api/v1/sidebar/:idItem', 'POST /api/v1/sidebar/:idItem/role/:idRole',
      'DELETE /api/v1/sidebar/:idItem/role/:idRole'),
  },
  { path: '/admin/audit', label: 'nav.audit', Page: AuditPage, allowed: anyOf('GET /api/v1/audit') },
  { path: '/admin/account', label: 'nav.account', Page: AccountPage, allowed: () => true },
];

/** The pages this role may use: in the order and with the names of its sidebar items where
 * an item points at a page, then the rest. */
function navigation(sidebarItems) {
  const allowed = PAGES.filter((page) => page.allowed());
  const fromMenu = (sidebarItems ?? [])
    .map((item) => {
      const page = allowed.find((candidate) => candidate.path === item.route);
      // The console's own names (the bootstrap's English ones) follow the chosen language;
      // a name an admin gave the item is theirs, shown as given.
      const own = item.nameItem === t(page?.label ?? '', {}, 'en');
      return page && { ...page, name: own ? t(page.label) : item.nameItem };
    })
    .filter(Boolean);
  const rest = allowed
    .filter((page) => !fromMenu.some((entry) => entry.path === page.path))
    .map((page) => ({ ...page, name: t(page.label) }));
  return [...fromMenu, ...rest];
}

/** Keep the role's permissions and menu current while an admin edits them elsewhere. */
async function refreshAccess() {
  const current = session.get();
  if (!current) return;
  try {
    const [permissions, sidebarItems, capabilities] = await Promise.all([
      api('GET', `/permission/getByRoleId?roleId=${current.user.roleId}`),
      api('GET', '/sidebar'),
      api('GET', '/auth/capabilities'),
    ]);
    updateSession({ permissions: permissions.map((item) => item.nameUri), sidebarItems, capabilities });
  } catch {
    // A revoked session is ended by the API layer; anything else keeps the last known access.
  }
}

function ConnectionBadge() {
  const state = useStore(connection);
  return html`<span class=${`connection ${state}`} role="status" data-state=${state}>
    <span class="dot" aria-hidden="true"></span>${t(`connection.${state}`)}</span>`;
}

function Shell({ user, sidebarItems }) {
  const path = useStore(route);
  useEffect(() => {
    connect();
    refreshAccess(); // a reloaded tab's saved access may be out of date
    const stop = onChange(({ event, resync }) => {
      if (resync || /^(permission|role|sidebar):/.test(event.operation)) refreshAccess();
    });
    return () => {
      stop();
      disconnect();
    };
  }, [user.idUser]);
  const pages = navigation(sidebarItems);
  const active = pages.find((page) => page.path === path);
  useEffect(() => {
    if (!active && pages.length) navigate(pages[0].path, { replace: true });
  }, [path, pages.length]);
  return html`<a class="skip" href="#main">${t('nav.skip')}</a>
    <header class="top">
      <span class="brand">SEAM API</span>
      <${ConnectionBadge} />
      <span class="spacer"></span>
      <span class="who" title=${user.roleName}>${user.email}</span>
      <${Preferences} />
      <button type="button" onClick=${signOut}>${t('nav.sign_out')}</button>
    </header>
    <${Loader} />
    <div class="body">
      <nav class="side" aria-label=${t('nav.label')}>
        <ul>
          ${pages.map((page) => html`<li key=${page.path}>
            <a href=${page.path} aria-current=${page === active ? 'page' : undefined}
              onClick=${(event) => {
                event.preventDefault();
                navigate(page.path);
              }}>${page.name}</a>
          </li>`)}
        </ul>
      </nav>
      <main id="main" tabindex="-1">
        ${active ? html`<${active.Page} key=${active.path} />`
          : html`<p class="muted">${pages.length ? '' : t('nav.nothing')}</p>`}
      </main>
    </div>
    <${Toasts} />`;
}

async function signOut() {
  try {
    await request('POST', '/auth/logout');
  } finally {
    session.set(null);
  }
}

/** After a forced step: the account as it is now, with this tab's new token. */
async function reloadAccount() {
  const me = await api('GET', '/auth/me');
  updateSession({
    user: me.user,
    permissions: me.permissions,
    sidebarItems: me.sidebarItems,
    mustChangePassword: me.mustChangePassword,
    mfaEnrolmentRequired: me.mfaEnrolmentRequired,
  });
}

/** A sign-in that may only change a temporary password or enrol a second factor: no socket
 * (the server refuses its handshake), no navigation, just the one step and a way out. */
function Restricted({ user, step }) {
  return html`<header class="top">
      <span class="brand">SEAM API</span>
      <span class="spacer"></span>
      <span class="who">${user.email}</span>
      <${Preferences} />
      <button type="button" onClick=${signOut}>${t('nav.sign_out')}</button>
    </header>
    <${Loader} />
    <main id="main" class="restricted">
      <p class="notice" role="status">${t(`account.${step}_required`)}</p>
      ${step === 'password'
        ? html`<${PasswordSection} onChanged=${reloadAccount} />`
        : html`<${MfaSection} onEnabled=${reloadAccount} />`}
    </main>
    <${Toasts} />`;
}

function App() {
  const current = useStore(session);
  const path = useStore(route);
  useStore(locale);
  const signedIn = Boolean(current);
  useEffect(() => (signedIn ? keepFresh() : undefined), [signedIn]);
  // An emailed link's page works signed in or not: it is about the link's account.
  if (path === RESET_PATH) return html`<${ResetPage} /><${Toasts} />`;
  if (!current) return html`<${LoginPage} /><${Toasts} />`;
  if (current.mustChangePassword) return html`<${Restricted} user=${current.user} step="password" />`;
  if (current.mfaEnrolmentRequired) return html`<${Restricted} user=${current.user} step="mfa" />`;
  return html`<${Shell} user=${current.user} sidebarItems=${current.sidebarItems} />`;
}

render(html`<${App} />`, document.getElementById('app'));
