// Fixed-window counters for brute-force and abuse limits. In one process they live in memory;
// with REDIS_URL they live in Redis so that every instance counts against the same limit.
import type { Redis } from 'ioredis';

export interface RateLimitResult {
  allowed: boolean;
  /** Seconds until the window resets (for Retry-After). */
  retryAfter: number;
  remaining: number;
}

export interface RateLimiter {
  /** Counts one attempt against the key's window. */
  hit(key: string, limit: number, windowMs: number): Promise<RateLimitResult>;
  /** Whether another attempt is allowed under every rule, without counting one. */
  peek(rules: readonly LimitRule[]): Promise<RateLimitResult>;
  /** How many attempts the key's current window holds (0 when it has none). */
  count(key: string): Promise<number>;
  reset(key: string): Promise<void>;
}

export interface LimitRule { key: string; limit: number; windowMs: number }

/**
 * The failure rules for a client's secret on one surface (token service, OAuth client
 * authentication): per client and address, so that knowing a client's id is not enough to lock it
 * out from everywhere, and per address across clients.
 */
export function secretFailureRules(surface: string, clientId: string, ip: string): LimitRule[] {
  return [
    { key: `${surface}:${clientId}:${ip}`, limit: 20, windowMs: 5 * 60_000 },
    { key: `${surface}-ip:${ip}`, limit: 100, windowMs: 5 * 60_000 },
  ];
}

/**
 * Failure limits for secrets checked on hot paths (the token service, OAuth client
 * authentication): only failures are counted, so a client that authenticates correctly costs one
 * peek and no write; but once the failures under any rule reach its limit, every attempt is
 * refused until the window ends — the right secret included, or a guesser could tell a correct
 * guess by its answer (RFC 6749 §10.10).
 */
export class FailureLimit {
  constructor(private readonly limiter: RateLimiter) {}

  /** Undefined when an attempt may go ahead; otherwise the seconds to wait. */
  async blocked(rules: readonly LimitRule[]): Promise<number | undefined> {
    const r = await this.limiter.peek(rules);
    return r.allowed ? undefined : r.retryAfter;
  }

  /** Counts a failure under every rule; answers the seconds to wait if that used up a limit. */
  async fail(rules: readonly LimitRule[]): Promise<number | undefined> {
    let wait: number | undefined;
    for (const rule of rules) {
      const r = await this.limiter.hit(rule.key, rule.limit, rule.windowMs);
      if (!r.allowed) wait = Math.max(wait ?? 0, r.retryAfter);
    }
    return wait;
  }
}

export interface Window { count: number; resetAt: number }

export class MemoryRateLimiter implements RateLimiter {
  private windows = new Map<string, Window>();
  private lastSweep = 0;

  constructor(private readonly now: () => number = Date.now) {}

  async hit(key: string, limit: number, windowMs: number): Promise<RateLimitResult> {
    const now = this.now();
    this.sweep(now);
    let w = this.windows.get(key);
    if (!w || w.resetAt <= now) {
      w = { count: 0, resetAt: now + windowMs };
      this.windows.set(key, w);
    }
    w.count++;
    return { allowed: w.count <= limit, retryAfter: Math.max(1, Math.ceil((w.resetAt - now) / 1000)), remaining: Math.max(0, limit - w.count) };
  }

  async peek(rules: readonly LimitRule[]): Promise<RateLimitResult> {
    const now = this.now();
    let out: RateLimitResult = { allowed: true, retryAfter: 0, remaining: Infinity };
    for (const rule of rules) {
      const w = this.windows.get(rule.key);
      if (!w || w.resetAt <= now) continue;
      if (w.count >= rule.limit) {
        out = { allowed: false, retryAfter: Math.max(out.retryAfter, Math.max(1, Math.ceil((w.resetAt - now) / 1000))), remaining: 0 };
      } else if (out.allowed) {
        out.remaining = Math.min(out.remaining, rule.limit - w.count);
      }
    }
    return out;
  }

  async count(key: string): Promise<number> {
    const w = this.windows.get(key);
    return w && w.resetAt > this.now() ? w.count : 0;
  }

  async reset(key: string): Promise<void> {
    this.windows.delete(key);
  }

  /** A key's current window, to copy elsewhere (cluster/shared-limiter.ts); undefined when it has none. */
  window(key: string): Window | undefined {
    const w = this.windows.get(key);
    return w && w.resetAt > this.now() ? { ...w } : undefined;
  }

  /** Sets (or with undefined, clears) a key's window as another process counted it. */
  mirror(key: string, w: Window | undefined): void {
    if (w) this.windows.set(key, { ...w });
    else this.windows.delete(key);
    this.sweep(this.now());
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < 60_000) return;
    this.lastSweep = now;
    for (const [k, w] of this.windows) if (w.resetAt <= now) this.windows.delete(k);
  }
}

// INCR then set the expiry on the first hit, atomically, and report the remaining time.
const HIT_SCRIPT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('PTTL', KEYS[1])}`;

// For each key at or over its limit (ARGV[i]), the longest remaining window; 0 when none is.
const PEEK_SCRIPT = `
local wait = 0
for i, key in ipairs(KEYS) do
  local n = tonumber(redis.call('GET', key) or '0')
  if n >= tonumber(ARGV[i]) then
    local ttl = redis.call('PTTL', key)
    if ttl > wait then wait = ttl end
  end
end
return wait`;

// The scripts as commands: ioredis sends EVALSHA and the script's body only once per connection.
interface ScriptedRedis {
  tesseraHit(key: string, windowMs: number): Promise<[number, number]>;
  tesseraPeek(numKeys: number, ...keysThenLimits: Array<string | number>): Promise<number>;
}

export class RedisRateLimiter implements RateLimiter {
  private readonly scripts: ScriptedRedis;

  constructor(private readonly redis: Redis, private readonly prefix = 'tessera:rl:') {
    redis.defineCommand('tesseraHit', { numberOfKeys: 1, lua: HIT_SCRIPT });
    redis.defineCommand('tesseraPeek', { lua: PEEK_SCRIPT });
    this.scripts = redis as unknown as ScriptedRedis;
  }

  async hit(key: string, limit: number, windowMs: number): Promise<RateLimitResult> {
    const [count, ttl] = await this.scripts.tesseraHit(this.prefix + key, windowMs);
    return { allowed: count <= limit, retryAfter: Math.max(1, Math.ceil(Math.max(ttl, 0) / 1000)), remaining: Math.max(0, limit - count) };
  }

  async peek(rules: readonly LimitRule[]): Promise<RateLimitResult> {
    const wait = await this.scripts.tesseraPeek(rules.length, ...rules.map((r) => this.prefix + r.key), ...rules.map((r) => r.limit));
    return wait > 0 ? { allowed: false, retryAfter: Math.max(1, Math.ceil(wait / 1000)), remaining: 0 } : { allowed: true, retryAfter: 0, remaining: 1 };
  }

  async count(key: string): Promise<number> {
    return Number(await this.redis.get(this.prefix + key) ?? 0);
  }

  async reset(key: string): Promise<void> {
    await this.redis.del(this.prefix + key);
  }
}
