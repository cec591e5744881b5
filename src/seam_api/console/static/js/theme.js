// Light, dark, or the system's choice (prefers-color-scheme), remembered in this browser.
import { createStore } from './lib.js';

const KEY = 'seam.theme';
const MODES = ['system', 'light', 'dark'];

export const theme = createStore(MODES.includes(localStorage.getItem(KEY)) ? localStorage.getItem(KEY) : 'system');

function apply(mode) {
  if (mode === 'system') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = mode;
  localStorage.setItem(KEY, mode);
}

apply(theme.get());
theme.watch(apply);

export function nextTheme(mode) {
  return MODES[(MODES.indexOf(mode) + 1) % MODES.length];
}
