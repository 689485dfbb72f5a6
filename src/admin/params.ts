// Reading the console's query and path parameters: bounded strings, a namespace, a limit and the
// sync and audit filters. Anything else is a BadRequest (400), never a 500.
import type { Request } from 'express';
import type { Namespace } from '../identity/identity.ts';
import { INTERFACES } from './console.ts';

export const isApi = (req: Request) => req.path === '/api' || req.path.startsWith('/api/');

export function str(v: unknown, max = 128): string | undefined {
  return typeof v === 'string' && v.length > 0 && v.length <= max ? v : undefined;
}

export function nsOf(v: unknown): Namespace {
  return v === 'debug' ? 'debug' : 'prod';
}

export function limitOf(v: unknown, dflt: number, max = 1000): number {
  const n = Number(v);
  return Number.isInteger(n) && n > 0 ? Math.min(n, max) : dflt;
}

export class BadRequest extends Error {}

export function syncFilter(req: Request): { tenantId?: string; interface?: string; resultCode?: string; failed?: boolean } {
  const tenantId = str(req.query.tenant, 64);
  const kind = str(req.query.interface, 32);
  if (kind && !INTERFACES.includes(kind)) throw new BadRequest(`interface must be one of ${INTERFACES.join(', ')}`);
  const result = str(req.query.result, 16);
  if (result && result !== 'failed' && !/^\d{6}$/.test(result)) throw new BadRequest('result must be a six-digit result code or "failed"');
  return { ...(tenantId ? { tenantId } : {}), ...(kind ? { interface: kind } : {}), ...(result === 'failed' ? { failed: true } : result ? { resultCode: result } : {}) };
}

export function auditFilter(req: Request): { action?: string; tenantId?: string; actor?: string } {
  const action = str(req.query.action, 64);
  const tenantId = str(req.query.tenant, 64);
  const actor = str(req.query.actor, 128);
  return { ...(action ? { action } : {}), ...(tenantId ? { tenantId } : {}), ...(actor ? { actor } : {}) };
}
