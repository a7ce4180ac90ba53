// The page going away: the queue leaves at once by fetch(keepalive), then navigator.sendBeacon,
// and what neither takes waits in localStorage for the next page.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { createMonitor } from '../src/monitor.js';
import { BASE, TARGET, answer, environment, seqs } from './environment.mjs';

function started(setup = {}, options = {}) {
  const page = environment(setup);
  const sdk = createMonitor(page.env, null);
  sdk.init({ ...BASE, flushIntervalMs: 60000, ...options });
  return { page, sdk };
}

for (const event of ['pagehide', 'visibilitychange']) {
  test(`at ${event} the queue leaves at once with fetch(keepalive)`, async () => {
    const { page, sdk } = started();
    sdk.trackRender({ renderTime: 1 });
    sdk.trackRender({ renderTime: 2 });
    page.fire(event);
    assert.equal(page.posts.length, 1);
    assert.equal(page.posts[0].options.keepalive, true);
    assert.deepEqual(seqs(page.posts[0]), [1, 2]);
    assert.equal(page.beacons.length, 0);
  });
}

test('without fetch the queue goes by sendBeacon, to the same URL with the key', () => {
  const { page, sdk } = started({ fetch: false });
  sdk.trackRender({ renderTime: 1 });
  sdk.trackNavigation({ success: true, dataPreserved: true, duration: 40 });
  page.fire('pagehide');
  assert.equal(page.beacons.length, 1);
  assert.equal(page.beacons[0].url, TARGET);
  assert.deepEqual(page.beacons[0].events.map((e) => e.type), ['render', 'navigation']);
  const stats = sdk.getStats();
  assert.deepEqual([stats.beacons, stats.sent, stats.queued], [1, 2, 0]);
});

test('a keepalive fetch that fails on the network falls back to sendBeacon', async () => {
  const { page, sdk } = started();
  page.answerWith('network error');
  sdk.trackRender({ renderTime: 1 });
  page.fire('pagehide');
  await page.tick(0);
  assert.equal(page.posts.length, 1);
  assert.deepEqual(page.beacons.map(seqs), [[1]]);
});

test('over the 64 KiB keepalive budget the rest goes by sendBeacon', async () => {
  const { page, sdk } = started();
  for (let i = 0; i < 400; i++) sdk.trackPersistence({ operation: 'save', success: true, duration: 1, errorMessage: 'e'.repeat(400) });
  page.fire('pagehide');
  const keptAlive = page.posts.reduce((total, post) => total + Buffer.byteLength(post.options.body), 0);
  assert.ok(keptAlive <= 65536, keptAlive);
  assert.ok(page.beacons.length > 0);
  // every event left once, in order, one way or the other
  assert.deepEqual([...page.posts, ...page.beacons].flatMap(seqs), Array.from({ length: 400 }, (_, i) => i + 1));
});

test('what sendBeacon refuses is kept in localStorage and sent by the next page of the site', async () => {
  const storage = new Map();
  const first = started({ fetch: false, beacon: false, storage });
  first.sdk.trackRender({ renderTime: 7, messageId: 'kept' });
  first.page.fire('pagehide');
  assert.equal(storage.size, 1);

  const next = started({ storage });
  await next.page.tick(60000);
  assert.deepEqual(next.page.posts[0].events.map((e) => e.metric.messageId), ['kept']);
  assert.equal(storage.size, 0); // taken at start: sent once
});

test('while the server has asked to wait (Retry-After), the page keeps its events for the next one', async () => {
  const { page, sdk } = started({}, { flushIntervalMs: 1000 });
  page.answerWith(answer(503, { 'Retry-After': '60' }));
  sdk.trackRender({ renderTime: 1 });
  await page.tick(1000);
  sdk.trackRender({ renderTime: 2 });
  page.fire('pagehide');
  assert.equal(page.posts.length, 1); // the refused one only
  assert.equal(page.beacons.length, 0);
  const [kept] = [...page.storage.values()].map((v) => JSON.parse(v));
  assert.deepEqual(kept.events.map((json) => JSON.parse(json).metric.seq), [1, 2]);
});
