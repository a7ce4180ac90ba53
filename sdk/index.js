// widget-monitor as an ES module: `import { init, trackRender } from 'widget-monitor'`.
//
// The same SDK as the one-tag script (both are src/monitor.js), built at the first init() over
// globalThis. Until then nothing touches a browser global, so importing this module where there
// is no window (server-side rendering, a test runner) is safe, and every function is a no-op
// as it is for a disabled SDK: trackers return, flush() and measureTabSync() resolve to null,
// observeScroll() returns a function that does nothing, fetch() is the plain fetch.
import { VERSION, createMonitor } from './src/monitor.js';

let monitor = null;

const DISABLED_STATS = Object.freeze({ enabled: false });
const noop = () => {};

function delegate(name, idle) {
  return (...args) => (monitor ? monitor[name](...args) : idle(...args));
}

export const version = VERSION;

/** Start monitoring (the first call wins, as with WidgetMonitor.init); see docs/sdk.md for the options. */
export function init(options) {
  if (!monitor) monitor = createMonitor(globalThis, null);
  monitor.init(options);
}

export const shutdown = delegate('shutdown', noop);
export const flush = delegate('flush', () => Promise.resolve(null));
export const getStats = delegate('getStats', () => DISABLED_STATS);
export const isEnabled = delegate('isEnabled', () => false);
export const trackPersistence = delegate('trackPersistence', noop);
export const trackRestoration = delegate('trackRestoration', noop);
export const trackNavigation = delegate('trackNavigation', noop);
export const trackRender = delegate('trackRender', noop);
export const trackScroll = delegate('trackScroll', noop);
export const trackTabSync = delegate('trackTabSync', noop);
export const trackApi = delegate('trackApi', noop);
export const trackBundle = delegate('trackBundle', noop);
export const trackMemory = delegate('trackMemory', noop);
export const startScrollMonitoring = delegate('startScrollMonitoring', noop);
export const stopScrollMonitoring = delegate('stopScrollMonitoring', noop);
export const observeScroll = delegate('observeScroll', () => noop);
export const measureTabSync = delegate('measureTabSync', () => Promise.resolve(null));
export const fetch = delegate('fetch', (...args) => globalThis.fetch(...args));
