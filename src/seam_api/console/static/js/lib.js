// The one door to the vendored view library (Preact 10 + hooks + htm, no compiler, no eval),
// and a tiny store that components subscribe to.
export {
  html, render, useCallback, useEffect, useRef, useState,
} from '../vendor/preact-htm.module.js';
import { useEffect, useState } from '../vendor/preact-htm.module.js';

/** A value that components and modules can read, set and watch. */
export function createStore(value) {
  const watchers = new Set();
  return {
    get: () => value,
    set(next) {
      value = next;
      watchers.forEach((watch) => watch(value));
    },
    watch(fn) {
      watchers.add(fn);
      return () => watchers.delete(fn);
    },
  };
}

/** Re-render the calling component whenever `store` changes. */
export function useStore(store) {
  const [, setTick] = useState(0);
  useEffect(() => store.watch(() => setTick((tick) => tick + 1)), [store]);
  return store.get();
}
