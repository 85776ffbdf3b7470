// The thread that makes Tessera's ES256 signatures: every answer must be the signature of its own
// input by its own key, whatever else shares the batch, a key it cannot use must fail only the
// signatures asked of that key, and a thread that is gone must not take later signatures with it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, verify, type KeyObject } from 'node:crypto';
import { SigningThread } from '../../src/keys/signing-thread.js';

const es256 = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });

function verifies(input: string, signature: string, publicKey: KeyObject): boolean {
  return verify('sha256', Buffer.from(input), { key: publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url'));
}

test('signatures asked for in one turn with two keys each verify against their own key only', async (t) => {
  const thread = new SigningThread();
  t.after(() => thread.close());
  const [a, b] = [es256(), es256()];
  const asks = Array.from({ length: 50 }, (_, i) => ({ input: `header.payload-${i}`, pair: i % 3 ? a : b }));
  const signatures = await Promise.all(asks.map(({ input, pair }) => thread.sign(input, pair.privateKey)));
  asks.forEach(({ input, pair }, i) => {
    assert.equal(Buffer.from(signatures[i]!, 'base64url').length, 64, 'r||s, 32 bytes each');
    assert.ok(verifies(input, signatures[i]!, pair.publicKey), `signature ${i} by its own key`);
    assert.ok(!verifies(input, signatures[i]!, (pair === a ? b : a).publicKey), `signature ${i} not by the other key`);
    assert.ok(!verifies(`${input}x`, signatures[i]!, pair.publicKey), `signature ${i} is of its own input`);
  });
  // Later turns reuse the keys the thread already holds.
  const again = await thread.sign('header.later', a.privateKey);
  assert.ok(verifies('header.later', again, a.publicKey));
});

test('a key the thread cannot sign with fails its own signatures and no others', async (t) => {
  const thread = new SigningThread();
  t.after(() => thread.close());
  const good = es256();
  // Ed25519 signs with no digest: asking it for sha256 is refused by OpenSSL.
  const bad = generateKeyPairSync('ed25519');
  const [ok, refused, alsoRefused] = await Promise.allSettled([
    thread.sign('header.good', good.privateKey),
    thread.sign('header.bad', bad.privateKey),
    thread.sign('header.bad2', bad.privateKey),
  ]);
  assert.equal(ok.status, 'fulfilled');
  assert.ok(verifies('header.good', (ok as PromiseFulfilledResult<string>).value, good.publicKey));
  for (const r of [refused, alsoRefused]) {
    assert.equal(r.status, 'rejected');
    assert.match(String((r as PromiseRejectedResult).reason), /^Error: signing failed: /);
  }
  // The thread is still there for the next turn.
  assert.ok(verifies('header.next', await thread.sign('header.next', good.privateKey), good.publicKey));
});

test('signatures owed when the thread ends fail; the next ones start a new thread with the keys sent again', async () => {
  const thread = new SigningThread();
  const pair = es256();
  assert.ok(verifies('header.first', await thread.sign('header.first', pair.privateKey), pair.publicKey));
  const owed = assert.rejects(thread.sign('header.owed', pair.privateKey), /the signing thread was closed/);
  // The ask is sent at the end of this turn; the thread is closed right after it is.
  await new Promise((resolve) => setImmediate(resolve));
  await thread.close();
  await owed;
  // A new thread does not know the key by its old number: it must be sent along again.
  assert.ok(verifies('header.after', await thread.sign('header.after', pair.privateKey), pair.publicKey));
  await thread.close();
});
