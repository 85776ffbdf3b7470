// ES256 signatures made on a thread of their own, the signatures asked for in one turn of the
// event loop sent over in one message.
//
// Why not libuv's thread pool (crypto.sign's callback form, used before): each job there wakes a
// sleeping pool thread, which sleeps again when it is done, so every token paid two context
// switches, and on a virtual machine a wake-up is an interrupt between cores. perf of the client
// credentials grant on the benchmark host (2026-12-03) put the pool threads at ≈ 22% of the
// process for signatures that take ≈ 37 µs each, and the event loop's hand-over (`uv_queue_work`,
// mostly the futex wake) at ≈ 8%. A thread handed a turn's signatures at once wakes once per turn:
// measured beside the pool in the same runs, client credentials used 18–30% less CPU a request and
// answered 17–38% more (docs/performance.md). Why not on the event loop: that is the process's
// bottleneck under load, and signing there was slower still. The pool keeps the rest of its work
// (scrypt's ≈ 50 ms password hashes, file I/O), which no longer holds up a token behind it.
import { Worker } from 'node:worker_threads';
import type { KeyObject } from 'node:crypto';

// CommonJS source for an eval'd worker: the server runs bundled, and a worker file of its own
// would be one more path to keep right in the bundle.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { sign } = require('node:crypto');
const keys = new Map();
parentPort.on('message', ({ batch, keyId, key, inputs }) => {
  if (key) keys.set(keyId, key);
  const signingKey = keys.get(keyId);
  const signatures = [];
  try {
    for (const input of inputs) signatures.push(sign('sha256', Buffer.from(input), { key: signingKey, dsaEncoding: 'ieee-p1363' }).toString('base64url'));
    parentPort.postMessage({ batch, signatures });
  } catch (err) {
    parentPort.postMessage({ batch, error: String((err && err.message) || err) });
  }
});
`;

interface Ask {
  input: string;
  resolve: (signature: string) => void;
  reject: (err: Error) => void;
}

/** Signs with one worker thread, started on the first signature and again after any failure of it. */
export class SigningThread {
  private worker: Worker | undefined;
  /** The worker's numbers for the keys it has been sent (a key travels once). */
  private keyIds = new WeakMap<KeyObject, number>();
  private nextKeyId = 1;
  private nextBatch = 1;
  private readonly waiting = new Map<number, Ask[]>();
  /** This turn's asks, by key, sent together when the turn ends. */
  private turn: Map<KeyObject, Ask[]> | undefined;

  /** The base64url ES256 (IEEE P1363) signature of `input`. */
  sign(input: string, key: KeyObject): Promise<string> {
    return new Promise((resolve, reject) => {
      if (!this.turn) {
        this.turn = new Map();
        setImmediate(() => this.send());
      }
      const asks = this.turn.get(key);
      if (asks) asks.push({ input, resolve, reject });
      else this.turn.set(key, [{ input, resolve, reject }]);
    });
  }

  /** Ends the thread; signatures asked for later start a new one. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.drop(new Error('the signing thread was closed'));
    await worker?.terminate();
  }

  private send(): void {
    const turn = this.turn!;
    this.turn = undefined;
    const worker = this.worker ?? this.start();
    // Held while signatures are owed, so a process waiting for one does not exit; let go when idle.
    if (!this.waiting.size) worker.ref();
    for (const [key, asks] of turn) {
      const batch = this.nextBatch++;
      this.waiting.set(batch, asks);
      let keyId = this.keyIds.get(key);
      const isNew = keyId === undefined;
      if (keyId === undefined) this.keyIds.set(key, keyId = this.nextKeyId++);
      worker.postMessage({ batch, keyId, ...(isNew ? { key } : {}), inputs: asks.map((a) => a.input) });
    }
  }

  private start(): Worker {
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      // Signing keeps no state beyond the keys: a small heap is plenty.
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
      stdout: false,
      stderr: false,
    });
    worker.on('message', ({ batch, signatures, error }: { batch: number; signatures?: string[]; error?: string }) => {
      const asks = this.waiting.get(batch);
      if (!asks) return;
      this.waiting.delete(batch);
      if (!this.waiting.size) worker.unref();
      if (signatures) asks.forEach((a, i) => a.resolve(signatures[i]!));
      else asks.forEach((a) => a.reject(new Error(`signing failed: ${error}`)));
    });
    const fail = (err: Error) => {
      if (this.worker === worker) this.drop(err);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the signing thread exited (${code})`)));
    // An idle thread must not keep a process alive that has nothing else to do (after the
    // listeners: adding a 'message' listener refs the worker's port again).
    worker.unref();
    this.worker = worker;
    this.keyIds = new WeakMap();
    return worker;
  }

  /** Fails whatever the current thread was asked and forgets it (and the keys it was sent). */
  private drop(err: Error): void {
    this.worker = undefined;
    for (const asks of this.waiting.values()) for (const a of asks) a.reject(err);
    this.waiting.clear();
  }
}
