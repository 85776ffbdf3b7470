// Rate limits shared by the workers of `tessera start --workers N` when there is no Redis: the
// primary process counts (one MemoryRateLimiter, the authority), and tells every worker each
// key's new window, which the worker keeps in a local copy. Counting a hit asks the primary and
// waits; checking a limit (peek, count) reads the local copy, so the hot paths that only check
// (a correct client secret, rate-limit.ts FailureLimit) never leave the process. A copy lags the
// primary by one IPC message: a guesser spread over workers gains at most the few attempts in
// flight at that moment, and each hit's own answer is exact.
import type { Worker } from 'node:cluster';
import { MemoryRateLimiter, type LimitRule, type RateLimiter, type RateLimitResult, type Window } from '../lib/rate-limit.js';
import type { Ask, PrimaryLine, ToWorker } from './ipc.js';

/** The worker's side. */
export class SharedRateLimiter implements RateLimiter {
  private readonly copy = new MemoryRateLimiter();

  constructor(private readonly primary: PrimaryLine) {}

  /** Applies a window the primary announced (a message from PrimaryLine's onMessage). */
  heard(m: ToWorker): void {
    if (m.tessera === 'window') this.copy.mirror(m.key, m.window ?? undefined);
  }

  async hit(key: string, limit: number, windowMs: number): Promise<RateLimitResult> {
    const w = await this.primary.ask<Window>({ op: 'hit', key, windowMs });
    this.copy.mirror(key, w);
    const now = Date.now();
    return { allowed: w.count <= limit, retryAfter: Math.max(1, Math.ceil((w.resetAt - now) / 1000)), remaining: Math.max(0, limit - w.count) };
  }

  peek(rules: readonly LimitRule[]): Promise<RateLimitResult> {
    return this.copy.peek(rules);
  }

  count(key: string): Promise<number> {
    return this.copy.count(key);
  }

  async reset(key: string): Promise<void> {
    await this.primary.ask({ op: 'reset', key });
    this.copy.mirror(key, undefined);
  }
}

/** The primary's side: counts, and announces each changed window to every worker. */
export class LimitAuthority {
  private readonly counts = new MemoryRateLimiter();

  constructor(private readonly workers: () => Iterable<Worker>) {}

  async answer(q: Extract<Ask, { op: 'hit' | 'reset' }>): Promise<Window | null> {
    if (q.op === 'hit') await this.counts.hit(q.key, Infinity, q.windowMs);
    else await this.counts.reset(q.key);
    const window = this.counts.window(q.key) ?? null;
    const told: ToWorker = { tessera: 'window', key: q.key, window };
    for (const w of this.workers()) if (w.isConnected()) w.send(told);
    return window;
  }
}
