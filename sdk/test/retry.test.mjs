// Retries: 429, 503 and network errors are sent again, no sooner than a Retry-After says.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { createMonitor } from '../src/monitor.js';
import { BASE, answer, environment } from './environment.mjs';

const eventIds = (post) => post.events.map((e) => e.metric.eventId);

function started(options = {}) {
  const page = environment();
  const sdk = createMonitor(page.env, null);
  sdk.init({ ...BASE, flushIntervalMs: 1000, ...options });
  return { page, sdk };
}

for (const [status, retryAfter, waitMs] of [
  [429, '2', 2000], // over the first backoff (0.5 to 1 s): the server's wait wins
  [503, '2', 2000],
  [503, '120', 120000], // over the backoff cap too
  [429, '999999', 86400000], // a day at most
]) {
  test(`${status} with Retry-After: ${retryAfter} is sent again after ${waitMs} ms, the same events`, async () => {
    const { page, sdk } = started();
    page.answerWith(answer(status, { 'Retry-After': retryAfter }));
    sdk.trackRender({ renderTime: 1 });
    sdk.trackRender({ renderTime: 2 });
    await page.tick(1000);
    assert.equal(page.posts.length, 1);
    await page.tick(waitMs - 1);
    assert.equal(page.posts.length, 1);
    await page.tick(1);
    assert.equal(page.posts.length, 2);
    assert.deepEqual(eventIds(page.posts[1]), eventIds(page.posts[0]));
    assert.equal(page.posts[1].at - page.posts[0].at, waitMs);
    const stats = sdk.getStats();
    assert.deepEqual([stats.retries, stats.sent, stats.queued], [1, 2, 0]);
  });
}

test('Retry-After as an HTTP date waits until then', async () => {
  const { page, sdk } = started();
  const at = new Date(Math.ceil(Date.now() / 1000) * 1000 + 30000); // HTTP dates have whole seconds
  page.answerWith(answer(503, { 'Retry-After': at.toUTCString() }));
  sdk.trackRender({ renderTime: 1 });
  await page.tick(1000);
  await page.tick(29900); // the date is 30 to 31 s off, less the few ms this test has taken
  assert.equal(page.posts.length, 1);
  await page.tick(1100);
  assert.equal(page.posts.length, 2);
});

test('without Retry-After the backoff doubles: 1 s, 2 s, 4 s with jitter (here 3/4 of each)', async (t) => {
  t.mock.method(Math, 'random', () => 0.5); // jitter factor 0.5 + 0.5 / 2
  const { page, sdk } = started();
  page.answerWith(answer(503), 'network error', answer(500));
  sdk.trackRender({ renderTime: 1 });
  await page.tick(1000);
  await page.tick(750 + 1500 + 3000);
  const gaps = page.posts.slice(1).map((p, i) => p.at - page.posts[i].at);
  assert.deepEqual(gaps, [750, 1500, 3000]);
  assert.equal(sdk.getStats().sent, 1);
});

test('events tracked during the wait go with the retry, not before it', async () => {
  const { page, sdk } = started({ batchSize: 2 });
  page.answerWith(answer(429, { 'Retry-After': '10' }));
  sdk.trackRender({ renderTime: 1 });
  await page.tick(1000);
  for (let i = 0; i < 5; i++) sdk.trackRender({ renderTime: 1 }); // a full batch: still waits
  await page.tick(9999);
  assert.equal(page.posts.length, 1);
  await page.tick(1);
  assert.equal(page.posts[1].events.length, 6);
});

test('400 drops the batch: resending cannot succeed', async () => {
  const { page, sdk } = started();
  page.answerWith(answer(400));
  sdk.trackRender({ renderTime: 1 });
  await page.tick(1000);
  await page.tick(600000);
  assert.equal(page.posts.length, 1);
  assert.equal(sdk.getStats().rejected, 1);
});
