/* widget-monitor: the one source of the SDK.
 *
 * createMonitor(global, script) builds an SDK over a window-like `global` (fetch, navigator,
 * document, localStorage, timers ... are all read from it, and only from it). Nothing here runs
 * at import: the ES module (index.js) calls it at the first init(), so importing the package
 * where there is no window (server-side rendering) touches nothing. The one-tag script
 * (widget-monitor.js) is generated from this file by build-script.mjs, which wraps it in an IIFE
 * that calls it at once with window and the <script> element: edit this file, then
 * `npm run build` (tests/sdk/test_package.py fails while the two differ).
 *
 * The key is the customer's public ingest key: it goes in the query (?key=...) of every
 * request, never in a header, because sendBeacon cannot set one and a custom header would
 * cost every fetch a CORS preflight. A server that answers 401 or 403 has rejected it: the
 * SDK then warns once and sends nothing more from this page.
 *
 * Events go to the server as arrays of {"type": ..., "metric": {...}} (the wire schema of
 * analytics/ingest/events.py); every value is clamped and rounded into the server's bounds here,
 * because the server rejects what is out of range rather than guessing.
 *
 * Disabled (enabled: false, or this tab sampled out) means nothing is set up at all: no
 * listener, timer, observer or channel; every public function returns at its first line.
 *
 * Plain ES2017 in ES5 style (var, function): the generated script runs as it is in every
 * browser that loads the tag, with no build step of its own.
 */

export var VERSION = '0.1.0';

// `script`: the <script> element that loaded the SDK, whose src gives the default endpoint
// (none for the ES module: the default is then the page's own origin).
export function createMonitor(global, script) {
  var MAX_DURATION_MS = 3600000;
  var MAX_BYTES = 1099511627776; // 2**40
  var MAX_COUNT = 2147483647; // 2**31 - 1
  var MIN_TIMESTAMP_MS = 946684800000; // 2000-01-01: the server refuses earlier times
  var KEEPALIVE_BUDGET = 65536; // bytes of keepalive/beacon bodies a page may have in flight
  var MAX_SERVER_BATCH = 1000;
  // Jank: a frame over the 16.7 ms budget of 60 Hz. rAF times jitter by a few tenths of a
  // millisecond around 16.67, so a frame counts only beyond 20 ms; one that missed a 60 Hz
  // vsync takes 33 ms, so any bound between 17 and 33 ms counts the same frames there.
  var JANK_FRAME_MS = 20;
  var SPILL_PREFIX = 'widget-monitor:unsent:';
  var SPILL_MAX_BYTES = 262144;
  var SPILL_MAX_AGE_MS = 86400000;
  var API_TIMING_WAIT_MS = 5000;
  var MAX_SCROLL_MONITOR_MS = 60000;

  var DEFAULTS = {
    endpoint: null, // default: /api/monitoring/widget next to the script (or this page)
    key: null, // the public ingest key (wmk_...), sent as ?key= on every request
    customerId: null,
    widgetVersion: null,
    sessionId: null,
    sampleRate: 1,
    enabled: true,
    flushIntervalMs: 5000,
    batchSize: 50,
    maxQueue: 1000,
    maxBatchBytes: 60000, // under the 64 KiB keepalive limit, with room for headers
    maxRetryDelayMs: 300000,
    memoryIntervalMs: 30000, // 0: sample only at start and when the page is hidden
    tabSyncIntervalMs: 30000, // 0: measure only when measureTabSync() is called
    tabSyncTimeoutMs: 1000,
    bundles: true,
    bundleFilter: null, // function(entry) -> bool; default: scripts and stylesheets
    debug: false,
  };

  // Field sanitizers per metric type: the server's bounds (analytics/ingest/events.py).
  var OPERATIONS = { save: 1, restore: 1, sync: 1, delete: 1, clear: 1 };
  var SCHEMA = {
    persistence: {
      required: ['operation', 'success', 'duration'],
      fields: {
        operation: operation, success: bool, duration: ms, conversationId: ident,
        errorType: ident, errorMessage: text, dataLoss: bool,
        metadata: { messageCount: count, storageType: ident, dataSize: bytes },
      },
    },
    restoration: {
      required: ['success', 'duration'],
      fields: { success: bool, duration: ms, messagesRestored: count },
    },
    navigation: {
      required: ['success', 'dataPreserved', 'duration'],
      fields: { success: bool, dataPreserved: bool, duration: ms, fromPage: text, toPage: text },
    },
    render: {
      required: ['renderTime'],
      fields: {
        renderTime: ms, messageId: ident, contentLength: count, hasMarkdown: bool, hasCodeBlocks: bool,
      },
    },
    scroll: {
      required: ['avgFps'],
      fields: {
        avgFps: fps, minFps: fps, jankPercentage: percentage, frameCount: count,
        scrollHeight: count, messageCount: count,
      },
    },
    memory: {
      required: ['usedJSHeapSize'],
      fields: { usedJSHeapSize: bytes, totalJSHeapSize: bytes, jsHeapSizeLimit: bytes },
    },
    tabSync: {
      required: ['latency'],
      fields: { latency: ms, success: bool, operation: ident, tabCount: count },
    },
    api: {
      required: ['duration', 'success'],
      fields: { duration: ms, success: bool, endpoint: text, method: ident, status: httpStatus, cached: bool },
    },
    bundle: {
      required: ['loadTime'],
      fields: { loadTime: ms, name: text, size: bytes, cached: bool },
    },
  };

  function finite(v) {
    return typeof v === 'number' && isFinite(v);
  }
  function clampRound(v, lo, hi, places) {
    if (!finite(v)) return undefined;
    var f = Math.pow(10, places);
    var r = Math.round(Math.min(hi, Math.max(lo, v)) * f) / f;
    return r === 0 ? 0 : r; // never -0
  }
  function ms(v) { return clampRound(v, 0, MAX_DURATION_MS, 3); }
  function fps(v) { return clampRound(v, 0, 1000, 2); }
  function percentage(v) { return clampRound(v, 0, 100, 2); }
  function count(v) { return clampRound(v, 0, MAX_COUNT, 0); }
  function bytes(v) { return clampRound(v, 0, MAX_BYTES, 0); }
  function httpStatus(v) { return clampRound(v, 0, 999, 0); }
  function bool(v) { return v === undefined || v === null ? undefined : !!v; }
  function operation(v) { return OPERATIONS[v] === 1 ? v : undefined; }
  function cut(v, max) {
    if (v === undefined || v === null) return undefined;
    var s = String(v);
    if (s.length <= max) return s;
    s = s.slice(0, max);
    var last = s.charCodeAt(s.length - 1);
    return last >= 0xd800 && last <= 0xdbff ? s.slice(0, -1) : s; // no half surrogate pair
  }
  function ident(v) { return cut(v, 256); }
  function text(v) { return cut(v, 4096); }

  function sanitize(fields, metric) {
    var out = {};
    for (var name in fields) {
      if (!Object.prototype.hasOwnProperty.call(fields, name)) continue;
      var rule = fields[name];
      var value = metric[name];
      if (value === undefined || value === null) continue;
      value = typeof rule === 'function' ? rule(value) : value && typeof value === 'object' ? sanitize(rule, value) : undefined;
      if (value !== undefined) out[name] = value;
    }
    return out;
  }

  function epochMs(stamp) {
    var t = stamp instanceof Date ? stamp.getTime() : typeof stamp === 'string' ? Date.parse(stamp) : stamp;
    return finite(t) && t >= MIN_TIMESTAMP_MS ? Math.round(t) : Date.now();
  }

  function randomId() {
    var c = global.crypto;
    if (c && typeof c.randomUUID === 'function') return c.randomUUID();
    var s = '';
    for (var i = 0; i < 4; i++) s += Math.floor(Math.random() * 4294967296).toString(16);
    return s;
  }

  function utf8Length(s) {
    var n = s.length;
    if (!/[^\x00-\x7f]/.test(s)) return n; // ASCII, the usual case
    for (var i = 0; i < s.length; i++) {
      var c = s.charCodeAt(i);
      if (c > 0x7f) n += c > 0x7ff && (c < 0xd800 || c > 0xdfff) ? 2 : 1;
    }
    return n;
  }

  // The endpoint with the ingest key in its query (URL-encoded), before any #fragment.
  function withKey(endpoint, key) {
    if (key === null || key === undefined || key === '') return endpoint;
    var hash = endpoint.indexOf('#');
    var base = hash < 0 ? endpoint : endpoint.slice(0, hash);
    var glue = base.indexOf('?') < 0 ? '?' : /[?&]$/.test(base) ? '' : '&';
    return base + glue + 'key=' + encodeURIComponent(String(key)) + (hash < 0 ? '' : endpoint.slice(hash));
  }

  function retryAfterMs(response) {
    var header = response.headers && response.headers.get('Retry-After');
    if (!header) return null;
    var seconds = Number(header);
    if (finite(seconds)) return Math.max(0, seconds * 1000);
    var at = Date.parse(header);
    return finite(at) ? Math.max(0, at - Date.now()) : null;
  }

  // ---------------------------------------------------------------- state

  // What the public functions hand back while disabled: made once, so that a disabled SDK
  // allocates nothing per call.
  var DISABLED_STATS = Object.freeze({ enabled: false });
  var resolvedNull = null;
  function settled() {
    if (!resolvedNull) resolvedNull = Promise.resolve(null);
    return resolvedNull;
  }
  function noop() {}

  var nativeFetch = typeof global.fetch === 'function' ? global.fetch : null;
  var active = false;
  var s = null; // everything an enabled SDK holds; null while disabled

  function log() {
    if (s && s.config.debug && global.console) global.console.warn.apply(global.console, arguments);
  }
  function fail(where, error) {
    if (s) s.stats.errors += 1;
    log('[widget-monitor] ' + where + ' failed:', error);
  }

  function decideSampling(rate) {
    if (!(rate < 1)) return true;
    if (!(rate > 0)) return false;
    var key = 'widget-monitor:sampled:' + rate;
    try {
      var kept = global.sessionStorage.getItem(key); // once per tab, across its page loads
      if (kept === '1' || kept === '0') return kept === '1';
      var inSample = Math.random() < rate;
      global.sessionStorage.setItem(key, inSample ? '1' : '0');
      return inSample;
    } catch (e) {
      return Math.random() < rate;
    }
  }

  // A session lasts as long as the tab (sessionStorage), across its page loads.
  function tabSession() {
    var key = 'widget-monitor:session';
    try {
      var id = global.sessionStorage.getItem(key);
      if (!id) global.sessionStorage.setItem(key, (id = randomId()));
      return id;
    } catch (e) {
      return randomId();
    }
  }

  function defaultEndpoint() {
    try {
      var base = script && script.src ? script.src : global.location.href;
      return new URL('/api/monitoring/widget', base).href;
    } catch (e) {
      return '/api/monitoring/widget';
    }
  }

  function init(options) {
    try {
      if (s) return api; // the first init wins
      var config = {};
      var key;
      for (key in DEFAULTS) config[key] = DEFAULTS[key];
      for (key in options || {}) if (options[key] !== undefined) config[key] = options[key];
      if (config.enabled === false || !decideSampling(Number(config.sampleRate))) return api;
      start(config);
    } catch (e) {
      teardown(); // half set up: undo what was
      if (options && options.debug && global.console) global.console.warn('[widget-monitor] init failed:', e);
    }
    return api;
  }

  function start(config) {
    config.endpoint = config.endpoint || defaultEndpoint();
    s = {
      config: config,
      target: withKey(config.endpoint, config.key), // where events are posted
      keyRejected: 0, // the status (401, 403) with which the server refused the key: final
      tabId: randomId(),
      sessionId: config.sessionId || tabSession(),
      seq: 0,
      queue: [], // [{json, size}], oldest first
      inflight: [],
      sending: false,
      attempt: 0,
      flushTimer: null,
      flushSoon: false,
      retryTimer: null,
      memoryTimer: null,
      tabSyncTimer: null,
      keepaliveBytes: 0,
      scroll: null,
      channel: null,
      peers: {},
      pings: {},
      observer: null,
      listeners: [],
      pendingApi: [], // API events waiting for their resource timing entry
      pendingTimer: null,
      spilled: false,
      stats: { tracked: 0, sent: 0, dropped: 0, rejected: 0, invalid: 0, retries: 0, beacons: 0, errors: 0 },
    };
    active = true;
    listen(global.document, 'visibilitychange', onVisibilityChange);
    listen(global, 'pagehide', onPageHide);
    takeSpilled();
    startMemorySampler();
    startTabSync();
    startResourceObserver();
  }

  function listen(target, type, handler) {
    if (!target || !target.addEventListener) return;
    target.addEventListener(type, handler);
    s.listeners.push([target, type, handler]);
  }

  /** Stop everything: listeners, timers, observers; the queue is flushed first. */
  function shutdown() {
    if (!active) return;
    try {
      releasePending(true);
      flushAll(true);
    } catch (e) {
      fail('shutdown', e);
    }
    teardown();
  }

  function teardown() {
    var state = s;
    active = false;
    s = null;
    if (!state) return;
    try {
      if (state.channel) {
        state.channel.postMessage({ k: 'bye', from: state.tabId });
        state.channel.close();
      }
      if (state.observer) state.observer.disconnect();
      if (state.scroll && state.scroll.raf) global.cancelAnimationFrame(state.scroll.raf);
      [state.flushTimer, state.retryTimer, state.pendingTimer].forEach(function (t) { if (t) global.clearTimeout(t); });
      [state.memoryTimer, state.tabSyncTimer].forEach(function (t) { if (t) global.clearInterval(t); });
      state.listeners.forEach(function (l) { l[0].removeEventListener(l[1], l[2]); });
    } catch (e) {
      // nothing more to undo
    }
  }

  // ---------------------------------------------------------------- events

  function record(type, metric) {
    if (s.keyRejected) return; // the server refused the key: nothing more is sent from this page
    var schema = SCHEMA[type];
    var m = sanitize(schema.fields, metric || {});
    for (var i = 0; i < schema.required.length; i++) {
      if (m[schema.required[i]] === undefined) {
        s.stats.invalid += 1;
        log('[widget-monitor] ' + type + ' event without a valid ' + schema.required[i] + ' was not sent');
        return;
      }
    }
    s.seq += 1;
    m.timestamp = epochMs(metric && metric.timestamp);
    m.sessionId = ident((metric && metric.sessionId) || s.sessionId);
    if (s.config.customerId != null) m.customerId = ident(s.config.customerId);
    if (s.config.widgetVersion != null) m.widgetVersion = ident(s.config.widgetVersion);
    m.tabId = s.tabId;
    m.seq = s.seq;
    m.eventId = s.tabId + ':' + s.seq; // stable: a retried event is stored once
    var json = JSON.stringify({ type: type, metric: m });
    s.queue.push({ json: json, size: utf8Length(json) + 1 });
    s.stats.tracked += 1;
    if (s.queue.length > s.config.maxQueue) {
      s.queue.shift(); // bounded: the oldest go first
      s.stats.dropped += 1;
    }
    scheduleFlush();
  }

  function tracker(type) {
    return function (metric) {
      if (!active) return;
      try {
        record(type, metric);
      } catch (e) {
        fail('track ' + type, e);
      }
    };
  }

  // ---------------------------------------------------------------- transport

  function scheduleFlush() {
    if (s.sending || s.retryTimer) return;
    if (s.queue.length >= s.config.batchSize) {
      if (s.flushSoon) return; // already due at the next turn of the event loop
      if (s.flushTimer) global.clearTimeout(s.flushTimer);
      s.flushSoon = true;
      s.flushTimer = global.setTimeout(onFlushTimer, 0);
    } else if (!s.flushTimer) {
      s.flushTimer = global.setTimeout(onFlushTimer, s.config.flushIntervalMs);
    }
  }

  function onFlushTimer() {
    if (!active) return;
    try {
      s.flushTimer = null;
      s.flushSoon = false;
      sendNext();
    } catch (e) {
      fail('flush', e);
    }
  }

  function takeChunk(items, maxBytes) {
    var size = 2;
    var n = 0;
    var limit = Math.min(items.length, MAX_SERVER_BATCH);
    while (n < limit && (n === 0 || size + items[n].size <= maxBytes)) {
      size += items[n].size;
      n += 1;
    }
    return items.splice(0, n);
  }

  function bodyOf(chunk) {
    return '[' + chunk.map(function (item) { return item.json; }).join(',') + ']';
  }

  function sizeOf(chunk) {
    return chunk.reduce(function (total, item) { return total + item.size; }, 1);
  }

  function sendNext() {
    if (s.sending || s.retryTimer || !s.queue.length || !nativeFetch || s.keyRejected) return;
    var chunk = takeChunk(s.queue, s.config.maxBatchBytes);
    s.sending = true;
    s.inflight = chunk;
    post(chunk, false).then(function (outcome) {
      if (!active) return;
      s.sending = false;
      s.inflight = [];
      settle(chunk, outcome);
    });
  }

  // Resolves to {ok}, {retry, delay} or {drop}; never rejects.
  function post(chunk, keepalive) {
    var body = bodyOf(chunk);
    var size = sizeOf(chunk);
    if (keepalive) s.keepaliveBytes += size;
    var request;
    try {
      request = nativeFetch.call(global, s.target, {
        method: 'POST',
        body: body,
        headers: { 'Content-Type': 'text/plain;charset=UTF-8' }, // a CORS-simple request: no preflight
        keepalive: keepalive,
        credentials: 'omit',
      });
    } catch (e) {
      request = Promise.reject(e);
    }
    return request.then(
      function (response) {
        if (keepalive && s) s.keepaliveBytes -= size;
        return outcomeOf(response, chunk);
      },
      function (error) {
        if (keepalive && s) s.keepaliveBytes -= size;
        log('[widget-monitor] sending failed:', error);
        return { retry: true, delay: null, network: true };
      }
    );
  }

  function outcomeOf(response, chunk) {
    var status = response.status;
    if (response.ok) {
      return response.json().then(
        function (answer) {
          return { ok: true, rejected: answer && answer.rejected ? answer.rejected.length : 0 };
        },
        function () { return { ok: true, rejected: 0 }; }
      );
    }
    if (status === 429 || status === 503 || status >= 500) {
      return { retry: true, delay: retryAfterMs(response) };
    }
    if (status === 401 || status === 403) return { keyRejected: status }; // the same for every batch
    if (status === 413 && chunk.length > 1) return { split: true };
    return { drop: true, status: status }; // 400/415/422: resending cannot succeed
  }

  function settle(chunk, outcome) {
    if (s.keyRejected) return; // answers of requests sent before the refusal change nothing
    if (outcome.keyRejected) {
      refuseKey(outcome.keyRejected, chunk);
      return;
    }
    if (outcome.ok) {
      s.attempt = 0;
      s.stats.sent += chunk.length - outcome.rejected;
      s.stats.rejected += outcome.rejected;
      if (!s.queue.length) forgetSpill();
    } else if (outcome.split) {
      var half = Math.ceil(chunk.length / 2);
      var smaller = s.config.maxBatchBytes;
      s.config.maxBatchBytes = Math.max(1024, Math.min(smaller, Math.floor(sizeOf(chunk.slice(0, half)))));
      requeue(chunk);
    } else if (outcome.drop) {
      s.attempt = 0;
      s.stats.rejected += chunk.length;
      log('[widget-monitor] the server refused a batch with status ' + outcome.status);
    } else {
      requeue(chunk);
      backoff(outcome.delay);
      return;
    }
    if (s.queue.length) scheduleFlush();
  }

  // A rejected key is final for the page: every later request would be refused the same way,
  // so the queue goes, nothing new is queued, and no timer is left to try again. One warning,
  // whatever the debug setting (it is a configuration error the developer must see), and
  // without the key: a console may be shared in a bug report.
  function refuseKey(status, chunk) {
    var dropped = s.queue.length + s.pendingApi.length;
    s.keyRejected = status;
    s.stats.rejected += chunk.length;
    s.stats.dropped += dropped;
    s.queue = [];
    s.inflight = [];
    s.pendingApi = [];
    [s.flushTimer, s.retryTimer, s.pendingTimer].forEach(function (t) { if (t) global.clearTimeout(t); });
    [s.memoryTimer, s.tabSyncTimer].forEach(function (t) { if (t) global.clearInterval(t); });
    s.flushTimer = s.retryTimer = s.pendingTimer = s.memoryTimer = s.tabSyncTimer = null;
    s.flushSoon = false;
    if (s.observer) s.observer.disconnect();
    s.observer = null;
    forgetSpill();
    if (global.console) {
      global.console.warn(
        '[widget-monitor] the server rejected the ingest key (HTTP ' + status + '): ' +
          (chunk.length + dropped) + ' event(s) dropped and nothing more is sent from this page. ' +
          'Check the key given as data-key or the key option.'
      );
    }
  }

  function requeue(chunk) {
    s.queue = chunk.concat(s.queue);
    var excess = s.queue.length - s.config.maxQueue;
    if (excess > 0) {
      s.queue.splice(0, excess);
      s.stats.dropped += excess;
    }
  }

  // Exponential backoff with jitter (1 s, 2 s, 4 s ... capped); a Retry-After is a floor.
  function backoff(retryAfter) {
    s.attempt += 1;
    s.stats.retries += 1;
    var exp = Math.min(s.config.maxRetryDelayMs, 1000 * Math.pow(2, s.attempt - 1));
    var delay = exp * (0.5 + Math.random() / 2);
    // the server's word wins over our cap; a day at most keeps setTimeout in range
    if (retryAfter !== null && retryAfter !== undefined) delay = Math.min(86400000, Math.max(retryAfter, delay));
    if (s.flushTimer) {
      global.clearTimeout(s.flushTimer);
      s.flushTimer = null;
      s.flushSoon = false;
    }
    s.retryTimer = global.setTimeout(onRetryTimer, delay);
  }

  function onRetryTimer() {
    if (!active) return;
    try {
      s.retryTimer = null;
      sendNext();
    } catch (e) {
      fail('retry', e);
    }
  }

  // The page may be going away: send everything now, in chunks that fit the keepalive
  // budget, with fetch(keepalive) and navigator.sendBeacon as the fallback. Events of a
  // request still in flight are sent again; their eventIds make the server store them once.
  // What the browser would not take (over its 64 KiB in flight), and everything while the
  // server has asked us to wait, is kept in localStorage for the next page of this site.
  function flushAll(unloading) {
    if (s.keyRejected || (!s.queue.length && !s.inflight.length)) return;
    var items = s.inflight.concat(s.queue);
    if (s.retryTimer) {
      spill(items); // honour Retry-After: the next page load sends them
      return;
    }
    s.queue = [];
    var unsent = [];
    var maxBytes = Math.min(s.config.maxBatchBytes, KEEPALIVE_BUDGET - 1024);
    while (items.length) {
      var chunk = takeChunk(items, maxBytes);
      if (!sendUnloading(chunk)) unsent = unsent.concat(chunk);
    }
    if (unsent.length) {
      requeue(unsent);
      spill(unsent);
    }
  }

  function spillKey(tabId) {
    return SPILL_PREFIX + tabId;
  }

  function forgetSpill() {
    if (!s.spilled) return;
    s.spilled = false;
    try {
      global.localStorage.removeItem(spillKey(s.tabId));
    } catch (e) {
      // storage blocked: nothing was kept either
    }
  }

  function spill(items) {
    try {
      var events = [];
      var size = 0;
      for (var i = 0; i < items.length && size + items[i].size <= SPILL_MAX_BYTES; i++) {
        events.push(items[i].json);
        size += items[i].size;
      }
      var record = { endpoint: s.config.endpoint, at: Date.now(), events: events };
      global.localStorage.setItem(spillKey(s.tabId), JSON.stringify(record));
      s.spilled = true;
    } catch (e) {
      log('[widget-monitor] could not keep unsent events:', e); // storage full or blocked
    }
  }

  // Events an earlier page of this site could not send (same endpoint, under a day old).
  function takeSpilled() {
    try {
      var storage = global.localStorage;
      var keys = [];
      for (var i = 0; i < storage.length; i++) {
        var key = storage.key(i);
        if (key && key.indexOf(SPILL_PREFIX) === 0) keys.push(key);
      }
      keys.forEach(function (key) {
        var record = JSON.parse(storage.getItem(key) || 'null');
        storage.removeItem(key);
        if (!record || record.endpoint !== s.config.endpoint || !(Date.now() - record.at < SPILL_MAX_AGE_MS)) return;
        record.events.forEach(function (json) {
          if (typeof json === 'string') s.queue.push({ json: json, size: utf8Length(json) + 1 });
        });
      });
      if (s.queue.length) scheduleFlush();
    } catch (e) {
      log('[widget-monitor] could not read unsent events:', e);
    }
  }

  function sendUnloading(chunk) {
    var size = sizeOf(chunk);
    if (nativeFetch && s.keepaliveBytes + size <= KEEPALIVE_BUDGET) {
      post(chunk, true).then(function (outcome) {
        if (!active) return;
        if (outcome.network && !s.keyRejected && beacon(chunk)) return;
        settle(chunk, outcome);
      });
      return true;
    }
    return beacon(chunk);
  }

  function beacon(chunk) {
    var nav = global.navigator;
    if (!nav || typeof nav.sendBeacon !== 'function') return false;
    var queued = false;
    try {
      queued = nav.sendBeacon(s.target, bodyOf(chunk)); // a string goes as text/plain
    } catch (e) {
      queued = false;
    }
    if (queued) {
      s.stats.beacons += 1;
      s.stats.sent += chunk.length;
    }
    return queued;
  }

  function onVisibilityChange() {
    if (!active) return;
    try {
      if (global.document.visibilityState === 'hidden') {
        sampleMemory();
        flushAll(false);
      }
    } catch (e) {
      fail('visibilitychange', e);
    }
  }

  function onPageHide() {
    if (!active) return;
    try {
      if (s.scroll) stopScrollMonitoring();
      releasePending(true);
      if (s.channel) s.channel.postMessage({ k: 'bye', from: s.tabId });
      flushAll(true);
    } catch (e) {
      fail('pagehide', e);
    }
  }

  /** Send what is queued now; resolves when the request settles. */
  function flush() {
    if (!active || !nativeFetch) return settled();
    try {
      if (s.sending || s.retryTimer || !s.queue.length || s.keyRejected) return settled();
      if (s.flushTimer) {
        global.clearTimeout(s.flushTimer);
        s.flushTimer = null;
        s.flushSoon = false;
      }
      var chunk = takeChunk(s.queue, s.config.maxBatchBytes);
      s.sending = true;
      s.inflight = chunk;
      return post(chunk, false).then(function (outcome) {
        if (!active) return;
        s.sending = false;
        s.inflight = [];
        settle(chunk, outcome);
        if (!outcome.retry && s.queue.length) return flush();
      });
    } catch (e) {
      fail('flush', e);
      return settled();
    }
  }

  // ---------------------------------------------------------------- scroll

  function startScrollMonitoring() {
    if (!active) return;
    try {
      if (s.scroll || typeof global.requestAnimationFrame !== 'function') return;
      var st = { last: 0, frames: 0, total: 0, longest: 0, jank: 0, raf: 0 };
      var onFrame = function (now) {
        if (!s || s.scroll !== st) return;
        if (st.last) {
          var delta = now - st.last;
          st.frames += 1;
          st.total += delta;
          if (delta > st.longest) st.longest = delta;
          if (delta > JANK_FRAME_MS) st.jank += 1;
        }
        st.last = now;
        if (st.total > MAX_SCROLL_MONITOR_MS) return stopScrollMonitoring(); // never left running
        st.raf = global.requestAnimationFrame(onFrame);
      };
      s.scroll = st;
      st.raf = global.requestAnimationFrame(onFrame);
    } catch (e) {
      fail('startScrollMonitoring', e);
    }
  }

  /** Stop the frame timer and send one scroll event (none if no frame was timed). */
  function stopScrollMonitoring(scrollHeight, messageCount) {
    if (!active) return;
    try {
      var st = s.scroll;
      if (!st) return;
      s.scroll = null;
      global.cancelAnimationFrame(st.raf);
      if (!st.frames || !(st.total > 0)) return;
      record('scroll', {
        avgFps: (1000 * st.frames) / st.total,
        minFps: 1000 / st.longest,
        jankPercentage: (100 * st.jank) / st.frames,
        frameCount: st.frames,
        scrollHeight: scrollHeight,
        messageCount: messageCount,
      });
    } catch (e) {
      fail('stopScrollMonitoring', e);
    }
  }

  /**
   * Time every scroll gesture on `element`: monitoring starts at its first scroll event and
   * stops after `idleMs` without one. Returns a function that stops observing.
   */
  function observeScroll(element, options) {
    if (!active || !element) return noop;
    try {
      var idleMs = (options && options.idleMs) || 150;
      var messageCount = options && options.messageCount;
      var idle = null;
      var onScroll = function () {
        if (!active) return;
        try {
          if (!s.scroll) startScrollMonitoring();
          if (idle) global.clearTimeout(idle);
          idle = global.setTimeout(function () {
            idle = null;
            stopScrollMonitoring(element.scrollHeight, typeof messageCount === 'function' ? messageCount() : messageCount);
          }, idleMs);
        } catch (e) {
          fail('scroll', e);
        }
      };
      element.addEventListener('scroll', onScroll, { passive: true });
      var entry = [element, 'scroll', onScroll];
      s.listeners.push(entry);
      return function () {
        element.removeEventListener('scroll', onScroll);
        if (idle) global.clearTimeout(idle);
      };
    } catch (e) {
      fail('observeScroll', e);
      return noop;
    }
  }

  // ---------------------------------------------------------------- memory

  function sampleMemory() {
    if (!active) return;
    try {
      var memory = global.performance && global.performance.memory; // Chromium only
      if (!memory || !finite(memory.usedJSHeapSize)) return;
      record('memory', {
        usedJSHeapSize: memory.usedJSHeapSize,
        totalJSHeapSize: memory.totalJSHeapSize,
        jsHeapSizeLimit: memory.jsHeapSizeLimit,
      });
    } catch (e) {
      fail('memory', e);
    }
  }

  function startMemorySampler() {
    var memory = global.performance && global.performance.memory;
    if (!memory) return;
    sampleMemory();
    if (s.config.memoryIntervalMs > 0) s.memoryTimer = global.setInterval(sampleMemory, s.config.memoryIntervalMs);
  }

  // ---------------------------------------------------------------- tab sync

  // Tabs of the same widget (same origin and customer) find each other on a BroadcastChannel;
  // a ping answered by a pong gives the round trip, and half of it is the sync latency.
  function startTabSync() {
    if (typeof global.BroadcastChannel !== 'function') return;
    s.channel = new global.BroadcastChannel('widget-monitor:' + (s.config.customerId || ''));
    s.channel.onmessage = onChannelMessage;
    s.channel.postMessage({ k: 'hello', from: s.tabId });
    if (s.config.tabSyncIntervalMs > 0) {
      s.tabSyncTimer = global.setInterval(function () {
        if (active && peerCount() > 0) measureTabSync();
      }, s.config.tabSyncIntervalMs);
    }
  }

  function onChannelMessage(event) {
    if (!active) return;
    try {
      var msg = event.data || {};
      if (!msg.from || msg.from === s.tabId) return;
      if (msg.k === 'bye') {
        delete s.peers[msg.from];
        return;
      }
      s.peers[msg.from] = Date.now();
      if (msg.k === 'hello') s.channel.postMessage({ k: 'here', from: s.tabId });
      else if (msg.k === 'ping') s.channel.postMessage({ k: 'pong', from: s.tabId, to: msg.from, id: msg.id });
      else if (msg.k === 'pong' && msg.to === s.tabId && s.pings[msg.id]) s.pings[msg.id](msg.from);
    } catch (e) {
      fail('tab sync message', e);
    }
  }

  function peerCount() {
    var n = 0;
    for (var id in s.peers) if (Object.prototype.hasOwnProperty.call(s.peers, id)) n += 1;
    return n;
  }

  /**
   * Ping the other tabs now. Resolves to {latency, tabCount} once the answers are in (null with
   * no other tab open); a ping no tab answers within tabSyncTimeoutMs is a failed sync.
   */
  function measureTabSync() {
    if (!active || !s.channel) return settled();
    try {
      if (peerCount() === 0) return settled();
      var state = s;
      var id = randomId();
      var sentAt = global.performance.now();
      var firstRtt = null;
      var answered = {};
      var tabs = 0;
      return new Promise(function (resolve) {
        state.pings[id] = function (from) {
          if (answered[from]) return;
          answered[from] = true;
          tabs += 1;
          if (firstRtt === null) firstRtt = global.performance.now() - sentAt;
        };
        state.channel.postMessage({ k: 'ping', from: state.tabId, id: id });
        global.setTimeout(function () {
          delete state.pings[id];
          if (!active || s !== state) return resolve(null);
          try {
            for (var peer in state.peers) if (!answered[peer]) delete state.peers[peer]; // gone without a bye
            var ok = firstRtt !== null;
            var result = { latency: ok ? firstRtt / 2 : state.config.tabSyncTimeoutMs, success: ok, tabCount: tabs };
            record('tabSync', { latency: result.latency, success: ok, operation: 'ping', tabCount: tabs });
            resolve(result);
          } catch (e) {
            fail('tab sync', e);
            resolve(null);
          }
        }, state.config.tabSyncTimeoutMs);
      });
    } catch (e) {
      fail('measureTabSync', e);
      return settled();
    }
  }

  // ---------------------------------------------------------------- API calls

  /** fetch(), timed: records duration, status, success and whether a cache answered. */
  function monitoredFetch(input, options) {
    if (!nativeFetch) return Promise.reject(new TypeError('fetch is not available in this browser'));
    if (!active) return nativeFetch.apply(global, arguments);
    var started;
    var method;
    var url;
    var endpoint;
    try {
      started = global.performance.now();
      method = ((options && options.method) || (input && input.method) || 'GET').toUpperCase();
      url = new URL(typeof input === 'string' || input instanceof URL ? String(input) : input.url, global.location.href);
      // the path only: query strings carry ids and tokens, and make every call a new endpoint
      endpoint = url.origin === global.location.origin ? url.pathname : url.origin + url.pathname;
    } catch (e) {
      fail('fetch', e);
      return nativeFetch.apply(global, arguments);
    }
    var state = s;
    return nativeFetch.apply(global, arguments).then(
      function (response) {
        if (active && s === state) {
          try {
            var metric = {
              endpoint: endpoint,
              method: method,
              duration: global.performance.now() - started,
              status: response.status,
              success: response.ok,
              cached: cachedByHeaders(response),
              timestamp: Date.now(),
            };
            if (metric.cached || !s.observer) record('api', metric);
            else awaitTiming(url.href, metric);
          } catch (e) {
            fail('fetch', e);
          }
        }
        return response;
      },
      function (error) {
        if (active && s === state) {
          try {
            record('api', {
              endpoint: endpoint, method: method, duration: global.performance.now() - started,
              status: 0, success: false, cached: false,
            });
          } catch (e) {
            fail('fetch', e);
          }
        }
        throw error; // the caller's own failure, passed on untouched
      }
    );
  }

  // A server-side cache says it answered (X-Cache: HIT, or an Age over 0 from a CDN).
  function cachedByHeaders(response) {
    var xCache = response.headers.get('X-Cache');
    if (xCache && /^hit/i.test(xCache)) return true;
    var age = Number(response.headers.get('Age'));
    return finite(age) && age > 0;
  }

  // Whether the browser's own cache answered shows only in the call's resource timing entry
  // (transferSize 0 with a body), which appears once the body has been read: the event waits
  // for it, at most API_TIMING_WAIT_MS (a body never read), and goes without it at pagehide.
  function awaitTiming(href, metric) {
    s.pendingApi.push({ href: href, metric: metric, until: Date.now() + API_TIMING_WAIT_MS });
    if (!s.pendingTimer) s.pendingTimer = global.setTimeout(onPendingTimer, API_TIMING_WAIT_MS);
  }

  function resolveTiming(entry) {
    for (var i = 0; i < s.pendingApi.length; i++) {
      if (s.pendingApi[i].href === entry.name) {
        var metric = s.pendingApi.splice(i, 1)[0].metric;
        metric.cached = entry.transferSize === 0 && entry.decodedBodySize > 0;
        record('api', metric);
        return;
      }
    }
  }

  function releasePending(all) {
    var now = Date.now();
    s.pendingApi = s.pendingApi.filter(function (pending) {
      if (!all && pending.until > now) return true;
      record('api', pending.metric);
      return false;
    });
  }

  function onPendingTimer() {
    if (!active) return;
    try {
      s.pendingTimer = null;
      releasePending(false);
      if (s.pendingApi.length) s.pendingTimer = global.setTimeout(onPendingTimer, API_TIMING_WAIT_MS);
    } catch (e) {
      fail('api timing', e);
    }
  }

  // ---------------------------------------------------------------- bundles

  function isBundle(entry) {
    if (entry.initiatorType === 'script') return true;
    return (entry.initiatorType === 'link' || entry.initiatorType === 'css') && /\.css(\?|#|$)/.test(entry.name);
  }

  function recordBundle(entry) {
    var filter = typeof s.config.bundleFilter === 'function' ? s.config.bundleFilter : isBundle;
    if (!filter(entry)) return;
    var size = entry.encodedBodySize || entry.transferSize;
    record('bundle', {
      name: entry.name,
      loadTime: entry.duration,
      size: size > 0 ? size : undefined, // 0: cross-origin without Timing-Allow-Origin
      cached: entry.encodedBodySize > 0 ? entry.transferSize === 0 : undefined,
    });
  }

  // One resource observer: script and stylesheet loads are bundles; fetches finish API events.
  function startResourceObserver() {
    if (typeof global.PerformanceObserver !== 'function') return;
    s.observer = new global.PerformanceObserver(function (list) {
      if (!active) return;
      try {
        list.getEntries().forEach(onResource);
      } catch (e) {
        fail('resource timing', e);
      }
    });
    s.observer.observe({ type: 'resource', buffered: true }); // buffered: loads before the SDK too
  }

  function onResource(entry) {
    if (entry.initiatorType === 'fetch') {
      if (s.pendingApi.length) resolveTiming(entry);
    } else if (s.config.bundles) {
      recordBundle(entry);
    }
  }

  // ---------------------------------------------------------------- public API

  function getStats() {
    if (!active) return DISABLED_STATS;
    var out = {
      enabled: true, tabId: s.tabId, sessionId: s.sessionId, seq: s.seq, queued: s.queue.length, peers: peerCount(),
      keyRejected: s.keyRejected, // 0, or the status (401, 403) that refused the ingest key
    };
    for (var k in s.stats) out[k] = s.stats[k];
    return out;
  }

  var api = {
    version: VERSION,
    init: init,
    shutdown: shutdown,
    flush: flush,
    getStats: getStats,
    isEnabled: function () { return active; },
    trackPersistence: tracker('persistence'),
    trackRestoration: tracker('restoration'),
    trackNavigation: tracker('navigation'),
    trackRender: tracker('render'),
    trackScroll: tracker('scroll'),
    trackTabSync: tracker('tabSync'),
    trackApi: tracker('api'),
    trackBundle: tracker('bundle'),
    trackMemory: sampleMemory,
    startScrollMonitoring: startScrollMonitoring,
    stopScrollMonitoring: stopScrollMonitoring,
    observeScroll: observeScroll,
    measureTabSync: measureTabSync,
    fetch: monitoredFetch,
  };

  return api;
}
