/**
 * Process metrics in the Prometheus text format (version 0.0.4): requests by route and status,
 * authentication failures by code, rate-limited requests, idempotent replays, and histograms
 * of key-verification latency and of the gateway's upstream latency by route. Counters live in
 * memory and restart at zero with the process, as Prometheus counters may. Gauges read when
 * scraped (the log's size, say) are rendered after them.
 */

/** A value read when the metrics are scraped. */
export interface Gauge {
  name: string;
  help: string;
  value: number;
}

/** Upper bounds (seconds) of the verification-latency buckets: 10 µs to 10 ms. */
export const VERIFICATION_BUCKETS = [
  0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
];

/**
 * Upper bounds (seconds) of the upstream-latency buckets: 1 ms to 10 s (the gateway's
 * timeout is at most 300 s; slower answers fall in `+Inf`).
 */
export const UPSTREAM_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/**
 * The methods counted under their own name: HTTP's (RFC 9110 and PATCH). Any other is counted
 * as `_OTHER`, as OpenTelemetry's HTTP conventions do: the method is the client's to choose (Deno
 * passes any token on), and a label per method sent would let a client grow the counters, and
 * every scrape, without end.
 */
const COUNTED_METHODS = new Set([
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "PATCH",
  "DELETE",
  "OPTIONS",
  "CONNECT",
  "TRACE",
]);

/** The `method` label of a request's method. */
const methodLabel = (method: string) => (COUNTED_METHODS.has(method) ? method : "_OTHER");

const escapeLabel = (value: string) =>
  value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");

/** One histogram's counts: per bucket (not cumulative), in all, and the sum observed. */
class Histogram {
  readonly #bounds: readonly number[];
  readonly #buckets: number[];
  #count = 0;
  #sum = 0;

  constructor(bounds: readonly number[]) {
    this.#bounds = bounds;
    this.#buckets = new Array<number>(bounds.length).fill(0);
  }

  observe(value: number): void {
    this.#count++;
    this.#sum += value;
    const at = this.#bounds.findIndex((bound) => value <= bound);
    if (at !== -1) this.#buckets[at] = (this.#buckets[at] ?? 0) + 1;
  }

  /** Its sample lines; `labels` is `name="value",` text put before `le`, or "". */
  lines(name: string, labels = ""): string[] {
    const lines: string[] = [];
    let cumulative = 0;
    this.#bounds.forEach((bound, i) => {
      cumulative += this.#buckets[i] ?? 0;
      lines.push(`${name}_bucket{${labels}le="${bound}"} ${cumulative}`);
    });
    const plain = labels ? `{${labels.slice(0, -1)}}` : "";
    lines.push(
      `${name}_bucket{${labels}le="+Inf"} ${this.#count}`,
      `${name}_sum${plain} ${this.#sum}`,
      `${name}_count${plain} ${this.#count}`,
    );
    return lines;
  }
}

/** The counters and the histograms. */
export class Metrics {
  /** Counts by method, then route pattern, then status: no label text is built per request. */
  readonly #requests = new Map<string, Map<string, Map<number, number>>>();
  readonly #authFailures = new Map<string, number>();
  #rateLimited = 0;
  #replays = 0;
  readonly #verification = new Histogram(VERIFICATION_BUCKETS);
  /** Upstream latency by gateway route pattern (as many as the routes configured). */
  readonly #upstream = new Map<string, Histogram>();

  /**
   * One answered request; `route` is the route's pattern (never the raw path), and a method
   * other than HTTP's is counted as `_OTHER`.
   */
  request(method: string, route: string, status: number): void {
    const label = methodLabel(method);
    let routes = this.#requests.get(label);
    if (!routes) {
      routes = new Map();
      this.#requests.set(label, routes);
    }
    let statuses = routes.get(route);
    if (!statuses) {
      statuses = new Map();
      routes.set(route, statuses);
    }
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
  }

  /** One refused credential, by its (catalogue) error code. */
  authFailure(code: string): void {
    this.#authFailures.set(code, (this.#authFailures.get(code) ?? 0) + 1);
  }

  /** One request refused by a rate limit. */
  rateLimited(): void {
    this.#rateLimited++;
  }

  /** One Idempotency-Key replay. */
  replayed(): void {
    this.#replays++;
  }

  /** How long one credential took to verify, in seconds. */
  observeVerification(seconds: number): void {
    this.#verification.observe(seconds);
  }

  /** How long the upstream of a gateway route took to answer (to its response head), in seconds. */
  observeUpstream(route: string, seconds: number): void {
    let histogram = this.#upstream.get(route);
    if (!histogram) {
      histogram = new Histogram(UPSTREAM_BUCKETS);
      this.#upstream.set(route, histogram);
    }
    histogram.observe(seconds);
  }

  /** Everything, the `gauges` read for this scrape last, in the Prometheus text format. */
  render(gauges: readonly Gauge[] = []): string {
    const lines: string[] = [
      "# HELP keygate_requests_total Requests answered, by method, route pattern and status.",
      "# TYPE keygate_requests_total counter",
    ];
    for (const [method, routes] of this.#requests)
      for (const [route, statuses] of routes)
        for (const [status, n] of statuses)
          lines.push(
            `keygate_requests_total{method="${escapeLabel(method)}",route="${escapeLabel(route)}",status="${status}"} ${n}`,
          );
    lines.push(
      "# HELP keygate_auth_failures_total Credentials refused, by error code.",
      "# TYPE keygate_auth_failures_total counter",
    );
    for (const [code, n] of this.#authFailures)
      lines.push(`keygate_auth_failures_total{code="${escapeLabel(code)}"} ${n}`);
    lines.push(
      "# HELP keygate_rate_limited_total Requests refused by a rate limit.",
      "# TYPE keygate_rate_limited_total counter",
      `keygate_rate_limited_total ${this.#rateLimited}`,
      "# HELP keygate_idempotent_replays_total Responses replayed for a repeated Idempotency-Key.",
      "# TYPE keygate_idempotent_replays_total counter",
      `keygate_idempotent_replays_total ${this.#replays}`,
      "# HELP keygate_key_verification_seconds Time to verify a credential.",
      "# TYPE keygate_key_verification_seconds histogram",
    );
    lines.push(
      ...this.#verification.lines("keygate_key_verification_seconds"),
      "# HELP keygate_upstream_duration_seconds Time the gateway's upstream took to answer (its response head), by route pattern.",
      "# TYPE keygate_upstream_duration_seconds histogram",
    );
    for (const [route, histogram] of this.#upstream)
      lines.push(
        ...histogram.lines("keygate_upstream_duration_seconds", `route="${escapeLabel(route)}",`),
      );
    for (const { name, help, value } of gauges)
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name} ${value}`);
    return `${lines.join("\n")}\n`;
  }
}
