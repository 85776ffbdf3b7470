// `tessera start --workers N` as a child process, for tests: its port, its workers' pids (read
// from the JSON log each process writes), signals, and requests over fresh connections (so
// that the primary's round robin spreads them over the workers) or over a keep-alive agent.
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { tesseraCommand } from './command.js';

export interface Answer { status: number; headers: Record<string, string | string[] | undefined>; body: string }

export class Workers {
  private out = '';
  private readonly exited: Promise<number | null>;
  port = 0;

  private constructor(readonly child: ChildProcess) {
    child.stdout!.on('data', (chunk: Buffer) => { this.out += chunk.toString(); });
    child.stderr!.on('data', (chunk: Buffer) => { this.out += chunk.toString(); });
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /** Starts Tessera with `count` workers on the given environment and waits until all listen. */
  static async start(env: Record<string, string>, count: number): Promise<Workers> {
    const child = spawn(process.execPath, [...tesseraCommand(), 'start', '--workers', String(count)], {
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', PUBLIC_URL: 'http://tessera.test', LOG_LEVEL: 'info', NODE_ENV: 'test', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const w = new Workers(child);
    await w.until(() => w.lines().some((l) => l.msg === 'Tessera is ready'), 60_000, 'the workers to start');
    const listening = w.lines().map((l) => /^Server listening at http:\/\/127\.0\.0\.1:(\d+)$/.exec(String(l.msg ?? ''))).find(Boolean);
    w.port = Number(listening![1]);
    return w;
  }

  /** Every JSON line the processes have logged. */
  lines(): Record<string, unknown>[] {
    return this.out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  get log(): string {
    return this.out;
  }

  /** Pids of workers that said they are ready, in order, and have not exited since (by signal 0). */
  workerPids(): number[] {
    const pids = this.lines().filter((l) => l.msg === 'worker is ready').map((l) => l.pid as number);
    return [...new Set(pids)].filter((pid) => { try { process.kill(pid, 0); return true; } catch { return false; } });
  }

  async until(check: () => boolean, ms: number, what: string): Promise<void> {
    const deadline = Date.now() + ms;
    while (!check()) {
      if (Date.now() > deadline || this.child.exitCode !== null) throw new Error(`timed out waiting for ${what}:\n${this.out.slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** One request on a new connection. */
  get(path: string, headers: Record<string, string> = {}, agent: Agent | false = false): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: this.port, path, headers, agent }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => { body += c; });
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  signal(sig: NodeJS.Signals): void {
    this.child.kill(sig);
  }

  /** SIGTERM, then the exit code (SIGKILL after `ms`). */
  async stop(ms = 20_000): Promise<number | null> {
    if (this.child.exitCode !== null) return this.child.exitCode;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), ms);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}
