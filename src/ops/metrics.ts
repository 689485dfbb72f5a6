// A small Prometheus text-format registry: counters and latency histograms with labels.
type Labels = Record<string, string>;

function key(labels: Labels): string {
  return Object.entries(labels)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
    .join(',');
}

class Counter {
  readonly values = new Map<string, number>();
  /** label objects reused by hot paths get their key computed once */
  private readonly keys = new WeakMap<Labels, string>();
  constructor(readonly name: string, readonly help: string) {}
  inc(labels: Labels = {}, by = 1): void {
    let k = this.keys.get(labels);
    if (k === undefined) this.keys.set(labels, (k = key(labels)));
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const [k, v] of this.values) lines.push(`${this.name}${k ? `{${k}}` : ''} ${v}`);
    return lines.join('\n');
  }
}

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

class Histogram {
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>();
  constructor(readonly name: string, readonly help: string) {}
  observe(labels: Labels, seconds: number): void {
    const k = key(labels);
    let s = this.series.get(k);
    if (!s) this.series.set(k, (s = { counts: BUCKETS.map(() => 0), sum: 0, count: 0 }));
    BUCKETS.forEach((b, i) => {
      if (seconds <= b) s.counts[i]! += 1;
    });
    s.sum += seconds;
    s.count += 1;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const [k, s] of this.series) {
      const sep = k ? `${k},` : '';
      BUCKETS.forEach((b, i) => lines.push(`${this.name}_bucket{${sep}le="${b}"} ${s.counts[i]}`));
      lines.push(`${this.name}_bucket{${sep}le="+Inf"} ${s.count}`);
      lines.push(`${this.name}_sum${k ? `{${k}}` : ''} ${s.sum}`);
      lines.push(`${this.name}_count${k ? `{${k}}` : ''} ${s.count}`);
    }
    return lines.join('\n');
  }
}

export class Metrics {
  readonly syncCalls = new Counter('bridge_sync_calls_total', 'Marketplace sync calls by interface and result code');
  readonly syncSeconds = new Histogram('bridge_sync_duration_seconds', 'Time to answer a marketplace sync call');
  readonly logins = new Counter('bridge_logins_total', 'Sign-in attempts by protocol and outcome');
  readonly upstreamSeconds = new Histogram('bridge_upstream_duration_seconds', 'OneAccess call latency by step');
  readonly verify = new Counter('bridge_verify_total', 'Forward-auth checks by outcome');
  readonly rateLimited = new Counter('bridge_rate_limited_total', 'Requests refused by a rate limit (429), by limit');
  readonly pushesRefused = new Counter('bridge_sync_refused_total', 'Marketplace pushes refused before their body was read, by reason');
  readonly backchannelLogouts = new Counter('bridge_oidc_backchannel_logouts_total', 'OIDC back-channel logout tokens by outcome (queued, delivered, retry, given_up)');
  private readonly started = Date.now();

  render(): string {
    const up = `# HELP bridge_uptime_seconds Seconds since start\n# TYPE bridge_uptime_seconds gauge\nbridge_uptime_seconds ${(Date.now() - this.started) / 1000}`;
    return [this.syncCalls, this.syncSeconds, this.logins, this.upstreamSeconds, this.verify, this.rateLimited, this.pushesRefused, this.backchannelLogouts].map((m) => m.render()).concat(up).join('\n') + '\n';
  }
}
