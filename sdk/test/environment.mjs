// A window-like environment for createMonitor(), with nothing real in it: a clock whose timers
// run only when a test advances it, a fetch that answers what the test says, a sendBeacon that
// records, page listeners a test can fire, and an in-memory localStorage.

const ENDPOINT = 'https://monitor.example/api/monitoring/widget';

/** The settings of every test: nothing sampled or observed on its own, only what is tracked. */
export const BASE = {
  endpoint: ENDPOINT,
  key: 'wmk_test key',
  customerId: 'acme',
  bundles: false,
  memoryIntervalMs: 0,
  tabSyncIntervalMs: 0,
};

/** Where every batch goes: the endpoint with the key URL-encoded in its query. */
export const TARGET = ENDPOINT + '?key=wmk_test%20key';

// Every promise callback queued so far, and those they queue, have run once this resolves.
export const settle = () => new Promise((resolve) => setImmediate(resolve));

/** An answer as fetch() resolves to it. */
export function answer(status, headers = {}, body = { rejected: [] }) {
  return {
    status,
    ok: status >= 200 && status < 300,
    headers: new Headers(headers),
    json: () => Promise.resolve(body),
  };
}

export function environment({ fetch = true, beacon = true, storage = new Map() } = {}) {
  let now = 0;
  let nextId = 1;
  const timers = new Map();
  const listeners = {};
  const answers = []; // what the next fetches answer, in order; then 200
  const posts = [];
  const beacons = [];

  const on = (type, handler) => (listeners[type] = handler);
  const env = {
    setTimeout(fn, ms) {
      timers.set(nextId, { at: now + (ms || 0), fn });
      return nextId++;
    },
    clearTimeout(id) {
      timers.delete(id);
    },
    setInterval() {
      throw new Error('no interval in these tests');
    },
    clearInterval() {},
    addEventListener: on,
    removeEventListener() {},
    document: { visibilityState: 'visible', addEventListener: on, removeEventListener() {} },
    location: { href: 'https://widget.example/page', origin: 'https://widget.example' },
    localStorage: {
      get length() {
        return storage.size;
      },
      key: (i) => [...storage.keys()][i] ?? null,
      getItem: (k) => storage.get(k) ?? null,
      setItem: (k, v) => storage.set(k, String(v)),
      removeItem: (k) => storage.delete(k),
    },
  };
  if (fetch) {
    env.fetch = (url, options) => {
      posts.push({ url, options, events: JSON.parse(options.body), at: now });
      const next = answers.shift() ?? answer(200);
      return next === 'network error' ? Promise.reject(new TypeError('Failed to fetch')) : Promise.resolve(next);
    };
  }
  if (beacon !== null) {
    env.navigator = {
      sendBeacon(url, body) {
        beacons.push({ url, events: JSON.parse(body), at: now });
        return beacon;
      },
    };
  }

  return {
    env,
    posts,
    beacons,
    storage,
    /** Answer the next fetches with these (answer(...) or 'network error'), in order. */
    answerWith: (...next) => answers.push(...next),
    /** Delays (ms from now) of the timers pending, soonest first. */
    pending: () => [...timers.values()].map((t) => t.at - now).sort((a, b) => a - b),
    /** Move the clock `ms` on, running each timer that falls due (and what it leads to) in turn. */
    async tick(ms) {
      const until = now + ms;
      for (;;) {
        await settle(); // answers in, and what they lead to
        let due = null;
        for (const [id, t] of timers) if (t.at <= until && (!due || t.at < due[1].at)) due = [id, t];
        if (!due) break;
        timers.delete(due[0]);
        now = due[1].at;
        due[1].fn();
      }
      now = until;
    },
    /** Fire a page event the SDK listens to: 'pagehide' or 'visibilitychange'. */
    fire(type) {
      if (type === 'visibilitychange') env.document.visibilityState = 'hidden';
      listeners[type]();
    },
  };
}

/** The seq of each event of a batch, in order. */
export const seqs = (batch) => batch.events.map((event) => event.metric.seq);
