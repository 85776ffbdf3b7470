// Time comes from one place so tests can move it (a refresh token 330 days old, an expired PIN).
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/**
 * A clock tests can move forward. It follows the wall clock (so rows written one after another
 * keep their order) until a test freezes it, after which only advance() moves it: a test that
 * asserts exact durations (a Retry-After) then does not depend on how fast the machine ran it.
 */
export class TestClock implements Clock {
  private offset = 0;
  private frozenAt: number | undefined;
  now(): number {
    return (this.frozenAt ?? Date.now()) + this.offset;
  }
  advance(ms: number): void {
    this.offset += ms;
  }
  freeze(): void {
    this.frozenAt ??= Date.now();
  }
  /** Follows the wall clock again, from where it stands (never backwards). */
  thaw(): void {
    if (this.frozenAt === undefined) return;
    this.offset += this.frozenAt - Date.now();
    this.frozenAt = undefined;
  }
}
