// Generates the one-tag script (widget-monitor.js) from the SDK's one source (src/monitor.js):
// the source, `export` keywords dropped, inside an IIFE that builds the SDK at once over window,
// publishes it as window.WidgetMonitor and reads the tag's data-* settings.
//
//   node build-script.mjs          write widget-monitor.js
//   node build-script.mjs --check  exit 1 if widget-monitor.js is not what this would write
//
// Plain node, no bundler: the source is written so that this text transformation is enough
// (top-level `export var` / `export function` only, no import).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const SOURCE = fileURLToPath(new URL('src/monitor.js', import.meta.url));
export const SCRIPT = fileURLToPath(new URL('widget-monitor.js', import.meta.url));

/** The script's text for the source text of src/monitor.js. */
export function renderScript(source) {
  const version = /^export var VERSION = '([^']+)';$/m.exec(source);
  if (!version) throw new Error('src/monitor.js declares no `export var VERSION = ...;`');
  const body = source
    .replace(/\n+$/, '')
    .split('\n')
    .map((line, i) => {
      if (/^export (var|function) /.test(line)) line = line.slice('export '.length);
      else if (/^(export|import)\b/.test(line)) {
        throw new Error(`src/monitor.js:${i + 1}: only \`export var\` and \`export function\` can be scripted: ${line}`);
      }
      return line ? '  ' + line : line;
    })
    .join('\n');
  return HEAD.replace('{version}', version[1]) + body + '\n' + TAIL;
}

const HEAD = `/*! widget-monitor browser SDK {version} | MIT | no dependencies
 *
 * One tag:
 *   <script src="https://monitor.example.com/sdk/widget-monitor.js"
 *           data-key="wmk_..." data-customer-id="acme" data-widget-version="2.4.1" data-sample-rate="0.25"></script>
 * or by hand:  WidgetMonitor.init({ endpoint, key, customerId, widgetVersion, sampleRate, enabled })
 * or as an ES module:  npm install widget-monitor; import { init, trackRender } from 'widget-monitor'
 *
 * Generated from src/monitor.js by build-script.mjs (npm run build): edit that file, not this one.
 */
(function (global) {
  'use strict';

  if (global.WidgetMonitor && global.WidgetMonitor.version) return; // loaded twice: keep the first

  var script = global.document && global.document.currentScript;

`;

const TAIL = `
  var api = createMonitor(global, script);
  global.WidgetMonitor = api;

  // One-tag integration: <script src=".../widget-monitor.js" data-customer-id="..." ...>
  try {
    var data = script && script.dataset;
    if (data && (data.endpoint || data.customerId || data.key)) {
      var numberOf = function (v) { return v === undefined || v === '' ? undefined : Number(v); };
      api.init({
        endpoint: data.endpoint,
        key: data.key || undefined,
        customerId: data.customerId,
        widgetVersion: data.widgetVersion,
        sessionId: data.sessionId,
        sampleRate: numberOf(data.sampleRate),
        enabled: data.enabled !== 'false',
        flushIntervalMs: numberOf(data.flushIntervalMs),
        batchSize: numberOf(data.batchSize),
        memoryIntervalMs: numberOf(data.memoryIntervalMs),
        tabSyncIntervalMs: numberOf(data.tabSyncIntervalMs),
        debug: data.debug === 'true',
      });
    }
  } catch (e) {
    // a broken tag must not break the page
  }
})(typeof window !== 'undefined' ? window : typeof globalThis !== 'undefined' ? globalThis : this);
`;

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const wanted = renderScript(readFileSync(SOURCE, 'utf8'));
  if (process.argv.includes('--check')) {
    let committed = null;
    try {
      committed = readFileSync(SCRIPT, 'utf8');
    } catch {
      // missing: differs
    }
    if (committed !== wanted) {
      console.error('widget-monitor.js is not generated from src/monitor.js: run `npm run build` in sdk/');
      process.exit(1);
    }
  } else {
    writeFileSync(SCRIPT, wanted);
  }
}
