// Failed logins per client address: after `limit` failures within `windowS`, further tries are refused.

export class FailureLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly limit: number,
    private readonly windowS: number,
  ) {}

  /** Seconds until this client may try again, or 0. */
  blockedFor(client: string, nowS: number): number {
    const recent = this.recent(client, nowS);
    if (recent.length < this.limit) return 0;
    return Math.ceil(recent[0]! + this.windowS - nowS);
  }

  fail(client: string, nowS: number): void {
    const recent = this.recent(client, nowS);
    recent.push(nowS);
    this.failures.set(client, recent);
  }

  succeed(client: string): void {
    this.failures.delete(client);
  }

  private recent(client: string, nowS: number): number[] {
    return (this.failures.get(client) ?? []).filter((t) => t > nowS - this.windowS);
  }
}
