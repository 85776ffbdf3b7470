// Time-ordered ids (UUIDv7) double as sort keys and cursors: made one after another they must
// sort in that order, and a burst must not push their timestamps ahead of the clock (a second
// instance, or this one after a restart, would then make ids that sort before older ones).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { uuidv7 } from '../../src/lib/ids.js';

const timestampOf = (id: string): number => Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16);

test('100,000 ids made in a burst sort in the order they were made and keep to the clock', () => {
  const started = Date.now();
  const ids = Array.from({ length: 100_000 }, () => uuidv7());
  assert.deepEqual(ids, [...ids].sort());
  assert.equal(new Set(ids).size, ids.length);
  for (const id of [ids[0]!, ids.at(-1)!]) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  // 4,096 ids fit in one millisecond before one is borrowed; the burst took far fewer per ms.
  assert.ok(timestampOf(ids.at(-1)!) <= Date.now() + 5, `ids ran ${timestampOf(ids.at(-1)!) - Date.now()} ms ahead of the clock`);
  assert.ok(timestampOf(ids[0]!) >= started);
});
