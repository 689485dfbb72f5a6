// Fault injection: one switchable fault that makes chosen endpoints misbehave the way a broken
// or overloaded OneAccess (or a proxy in front of it) does.
import type { Request, Response } from 'express';
import type { EndpointName, Fault } from './oneaccess-types.ts';

const OVERSIZED_BYTES = 5 * 1024 * 1024;
let oversizedBody: Buffer | undefined;

/** valid JSON, just far too large for any sane client limit; built once, on first use */
function oversized(): Buffer {
  oversizedBody ??= Buffer.from(`{"padding":"${'x'.repeat(OVERSIZED_BYTES)}"}`);
  return oversizedBody;
}

export class FaultSwitch {
  private fault: Fault | null = null;
  private remaining = Infinity;
  private readonly timers = new Set<NodeJS.Timeout>();

  set(fault: Fault | null): void {
    this.fault = fault === null ? null : { ...fault };
    this.remaining = fault?.times ?? Infinity;
  }

  /** Either answers the request with the active fault or calls `proceed` (later, for 'slow'). */
  apply(endpoint: EndpointName, tenantId: string, req: Request, res: Response, proceed: () => void): void {
    const fault = this.take(endpoint, tenantId);
    if (!fault) return proceed();
    switch (fault.kind) {
      case 'slow': {
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          if (!req.socket.destroyed) proceed();
        }, fault.delayMs ?? 1000);
        this.timers.add(timer);
        return;
      }
      case '500':
        res.status(500).json({ error: 'server_error', error_description: 'sandbox fault: internal error' });
        return;
      case 'non-json':
        // what a misconfigured proxy in front of OneAccess answers: 200 with an HTML page
        res.status(200).type('html').send('<html><body><h1>Service temporarily unavailable</h1></body></html>');
        return;
      case 'oversized':
        res.status(200).type('json').send(oversized());
        return;
      case 'close':
        req.socket.destroy();
        return;
    }
  }

  /** Drops pending 'slow' requests so close() never waits on them. */
  clearTimers(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private take(endpoint: EndpointName, tenantId: string): Fault | undefined {
    const fault = this.fault;
    if (!fault) return undefined;
    if (fault.endpoint !== '*' && fault.endpoint !== endpoint) return undefined;
    if (fault.tenantId !== undefined && fault.tenantId !== tenantId) return undefined;
    this.remaining -= 1;
    if (this.remaining <= 0) this.fault = null;
    return fault;
  }
}
