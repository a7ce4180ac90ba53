// Batching: when a batch leaves, what it holds, and how big it may be.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { createMonitor } from '../src/monitor.js';
import { BASE, TARGET, answer, environment, seqs, settle } from './environment.mjs';

function started(options = {}, setup = {}) {
  const page = environment(setup);
  const sdk = createMonitor(page.env, null);
  sdk.init({ ...BASE, ...options });
  return { page, sdk };
}

test('events wait for flushIntervalMs, then leave as one text/plain batch with the key in the query', async () => {
  const { page, sdk } = started({ flushIntervalMs: 5000 });
  for (let i = 1; i <= 3; i++) sdk.trackRender({ renderTime: i, messageId: 'm' + i });
  await page.tick(4999);
  assert.equal(page.posts.length, 0);
  await page.tick(1);
  assert.equal(page.posts.length, 1);
  const [batch] = page.posts;
  assert.equal(batch.url, TARGET);
  assert.equal(batch.options.method, 'POST');
  assert.equal(batch.options.headers['Content-Type'], 'text/plain;charset=UTF-8');
  assert.equal(batch.options.credentials, 'omit');
  assert.equal(batch.options.keepalive, false);
  assert.deepEqual(batch.events.map((e) => [e.type, e.metric.renderTime, e.metric.messageId]), [
    ['render', 1, 'm1'],
    ['render', 2, 'm2'],
    ['render', 3, 'm3'],
  ]);
  const { tabId } = sdk.getStats();
  assert.deepEqual(batch.events.map((e) => e.metric.eventId), [1, 2, 3].map((n) => `${tabId}:${n}`));
  assert.equal(batch.events[0].metric.customerId, 'acme');
  assert.deepEqual(sdk.getStats().sent, 3);
});

test('batchSize queued events leave at the next turn, without waiting for the interval', async () => {
  const { page, sdk } = started({ batchSize: 5, flushIntervalMs: 5000 });
  for (let i = 0; i < 4; i++) sdk.trackRender({ renderTime: 1 });
  await page.tick(0);
  assert.equal(page.posts.length, 0); // 4: the interval's to wait
  sdk.trackRender({ renderTime: 1 });
  await page.tick(0);
  assert.deepEqual(seqs(page.posts[0]), [1, 2, 3, 4, 5]);
});

test('one request is in flight at a time: the next batch leaves once the first is answered', async () => {
  const { page, sdk } = started({ batchSize: 2, flushIntervalMs: 5000 });
  let answerFirst;
  page.answerWith(new Promise((resolve) => (answerFirst = resolve)));
  sdk.trackRender({ renderTime: 1 });
  sdk.trackRender({ renderTime: 1 });
  await page.tick(0);
  for (let i = 0; i < 3; i++) sdk.trackRender({ renderTime: 1 });
  await page.tick(10000);
  assert.equal(page.posts.length, 1);
  answerFirst(answer(200));
  await page.tick(0);
  assert.deepEqual(page.posts.map(seqs), [[1, 2], [3, 4, 5]]);
});

test('no body is over maxBatchBytes, and the events keep their order across batches', async () => {
  const { page, sdk } = started({ maxBatchBytes: 1000, flushIntervalMs: 100 });
  for (let i = 0; i < 20; i++) sdk.trackRender({ renderTime: 1, messageId: 'x'.repeat(100) });
  await page.tick(100); // the first batch; the others follow one by one, as the queue is not empty
  await sdk.flush();
  while (sdk.getStats().queued) await sdk.flush();
  for (const post of page.posts) assert.ok(Buffer.byteLength(post.options.body) <= 1000, post.options.body.length);
  assert.ok(page.posts.length >= 4); // each event is over 200 bytes
  assert.deepEqual(page.posts.flatMap(seqs), Array.from({ length: 20 }, (_, i) => i + 1));
});

test('beyond maxQueue the oldest events go, and are counted', async () => {
  const { page, sdk } = started({ maxQueue: 3, flushIntervalMs: 5000 });
  for (let i = 0; i < 5; i++) sdk.trackRender({ renderTime: 1 });
  await page.tick(5000);
  assert.deepEqual(seqs(page.posts[0]), [3, 4, 5]);
  assert.equal(sdk.getStats().dropped, 2);
});

test('values are clamped into the server bounds and an event without its required field is not sent', async () => {
  const { page, sdk } = started();
  sdk.trackRender({ renderTime: 5e9, contentLength: -3 });
  sdk.trackRender({ renderTime: Number.NaN });
  sdk.trackPersistence({ operation: 'upload', success: true, duration: 1 });
  await sdk.flush();
  assert.deepEqual(page.posts[0].events.map((e) => [e.metric.renderTime, e.metric.contentLength]), [[3600000, 0]]);
  assert.equal(sdk.getStats().invalid, 2);
});

test('flush() sends at once and resolves when the server has answered', async () => {
  const { page, sdk } = started({ flushIntervalMs: 60000 });
  sdk.trackApi({ duration: 12.5, success: true, endpoint: '/api/x', status: 200 });
  await sdk.flush();
  assert.equal(page.posts.length, 1);
  assert.equal(sdk.getStats().sent, 1);
  await settle();
  assert.deepEqual(page.pending(), []); // nothing left to do
});
