// The language and theme switches, in the header and on the sign-in page.
import { locale, LOCALES, t } from './i18n.js';
import { html, useStore } from './lib.js';
import { nextTheme, theme } from './theme.js';

export function Preferences() {
  const current = useStore(locale);
  const mode = useStore(theme);
  return html`<div class="preferences">
    <label class="visually-hidden" for="locale">${t('prefs.language')}</label>
    <select id="locale" value=${current} onChange=${(event) => locale.set(event.target.value)}>
      ${LOCALES.map((code) => html`<option key=${code} value=${code}>${t(`prefs.${code}`)}</option>`)}
    </select>
    <button type="button" class="theme-toggle" onClick=${() => theme.set(nextTheme(mode))}
      aria-label=${t('prefs.theme', { mode: t(`prefs.theme_${mode}`) })}
      title=${t('prefs.theme', { mode: t(`prefs.theme_${mode}`) })}>
      ${mode === 'dark' ? '☾' : mode === 'light' ? '☀' : '◐'}</button>
  </div>`;
}
