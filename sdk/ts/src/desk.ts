// Desk: the service-desk requests of docs/DESK.md, through a node's admin
// HTTP API (the client protocol has no desk requests yet).

export interface EnterResult {
  conv: string;
  session: string;
  agent: string | null;
  queue_position: number;
}

/** One window of an agent's service metrics (GET /api/v1/metrics, docs/METRICS.md). */
export interface MetricsRow {
  key: string;
  window_start: string;
  window_end: string;
  questions: number;
  timely: number;
  timely_rate: number;
  avg_response_ms: number;
  sessions: number;
  avg_first_response_ms: number;
  final: boolean;
}

export class Desk {
  constructor(
    private adminUrl: string,
    private adminToken = "",
    private f: typeof fetch = (input, init) => fetch(input, init),
  ) {}

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { "Content-Type": "application/json" };
    if (this.adminToken) headers.Authorization = `Bearer ${this.adminToken}`;
    const r = await this.f(this.adminUrl.replace(/\/$/, "") + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await r.text();
    if (!r.ok) throw new Error(`desk ${method} ${path}: HTTP ${r.status}: ${text}`);
    return (text ? JSON.parse(text) : {}) as T;
  }

  enter(user: string, scene: string): Promise<EnterResult> {
    return this.call("POST", "/api/v1/desk/enter", { user, scene });
  }
  agent(user: string, change?: { status?: string; capacity?: number; skills?: string[] }): Promise<unknown> {
    return change ? this.call("POST", `/api/v1/desk/agents/${encodeURIComponent(user)}`, change) : this.call("GET", `/api/v1/desk/agents/${encodeURIComponent(user)}`);
  }
  queue(skill: string): Promise<unknown> {
    return this.call("GET", `/api/v1/desk/queues/${encodeURIComponent(skill)}`);
  }
  session(conv: string, user = ""): Promise<unknown> {
    return this.call("GET", `/api/v1/desk/sessions/${encodeURIComponent(conv)}${user ? `?user=${encodeURIComponent(user)}` : ""}`);
  }
  handover(user: string, conv: string): Promise<unknown> {
    return this.call("POST", "/api/v1/desk/handover", { user, conv });
  }
  transfer(user: string, conv: string, to: string, note = ""): Promise<unknown> {
    return this.call("POST", "/api/v1/desk/transfer", { user, conv, to, note });
  }
  /** metrics: agent's service metrics per window (window: one of the engine's window sizes, by default "1m" or "1h"). */
  async metrics(agent: string, window = "1h"): Promise<MetricsRow[]> {
    const r = await this.call<{ rows: MetricsRow[] }>("GET", `/api/v1/metrics?key=${encodeURIComponent(agent)}&window=${encodeURIComponent(window)}`);
    return r.rows ?? [];
  }
  close(user: string, conv: string, reason = ""): Promise<unknown> {
    return this.call("POST", "/api/v1/desk/close", { user, conv, reason });
  }
}
