// What the primary and its workers say to each other over the cluster's IPC channel. Every
// message carries `tessera` so that other users of the channel (prom-client's metric requests)
// are told apart.
import type { Window } from '../lib/rate-limit.js';

/** A worker's question to the primary, answered by an `answer` with the same id. */
export type Ask =
  | { tessera: 'ask'; id: number; op: 'hit'; key: string; windowMs: number }
  | { tessera: 'ask'; id: number; op: 'reset'; key: string }
  | { tessera: 'ask'; id: number; op: 'metrics' };

export type ToWorker =
  | { tessera: 'answer'; id: number; value?: unknown; error?: string }
  /** A rate-limit window as the primary now counts it (null: the key has none). */
  | { tessera: 'window'; key: string; window: Window | null }
  /** Stop taking connections, finish what is in flight, exit (a rolling restart or shutdown). */
  | { tessera: 'drain' };

export type ToPrimary = Ask;

export const isToWorker = (m: unknown): m is ToWorker => typeof m === 'object' && m !== null && 'tessera' in m;
export const isToPrimary = (m: unknown): m is ToPrimary => typeof m === 'object' && m !== null && 'tessera' in m;

type Question = Ask extends infer A ? A extends Ask ? Omit<A, 'tessera' | 'id'> : never : never;

const ASK_TIMEOUT_MS = 5000;

/** Sends questions to the primary and matches its answers (worker side). */
export class PrimaryLine {
  private next = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();

  constructor(private readonly onMessage: (m: ToWorker) => void = () => undefined) {
    process.on('message', (m: unknown) => {
      if (!isToWorker(m)) return;
      if (m.tessera !== 'answer') return this.onMessage(m);
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      clearTimeout(p.timer);
      if (m.error !== undefined) p.reject(new Error(m.error));
      else p.resolve(m.value);
    });
  }

  ask<T>(question: Question): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const id = ++this.next;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`the primary process did not answer "${question.op}" within ${ASK_TIMEOUT_MS} ms`));
      }, ASK_TIMEOUT_MS);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      process.send!({ tessera: 'ask', id, ...question } satisfies Ask, undefined, undefined, (err) => {
        if (!err) return;
        this.pending.delete(id);
        clearTimeout(timer);
        reject(err);
      });
    });
  }
}
