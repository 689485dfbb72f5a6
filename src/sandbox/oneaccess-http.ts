// Small HTTP helpers shared by the sandbox routes.
import type { Request, RequestHandler, Response } from 'express';
import type { Tenant } from './oneaccess-state.ts';
import type { EndpointName } from './oneaccess-types.ts';

/** A route body that already knows which tenant (listener) the request arrived on. */
export type TenantHandler = (tenant: Tenant, req: Request, res: Response) => void;
/** Wraps a TenantHandler with tenant lookup, call counting and fault injection. */
export type Route = (endpoint: EndpointName, handler: TenantHandler) => RequestHandler;

/** Reads one parameter; repeated parameters count as absent so nobody guesses which one wins. */
export type Params = (name: string) => string | undefined;

export function paramsOf(source: unknown): Params {
  const record = typeof source === 'object' && source !== null ? (source as Record<string, unknown>) : {};
  return (name) => {
    const value = Object.hasOwn(record, name) ? record[name] : undefined;
    return typeof value === 'string' ? value : undefined;
  };
}

export function paramsOfSearch(search: URLSearchParams): Params {
  return (name) => {
    const values = search.getAll(name);
    return values.length === 1 ? values[0] : undefined;
  };
}

/** Appends query parameters without re-serialising the base URL, so it stays byte-identical. */
export function appendQuery(base: string, params: Record<string, string | undefined>): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined) query.append(key, value);
  const text = query.toString();
  if (text === '') return base;
  return `${base}${base.includes('?') ? '&' : '?'}${text}`;
}

export function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

export function readCookie(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Browsers share cookies across ports of one host, so the name carries the tenant's port. */
export const ssoCookieName = (tenant: Tenant): string => `oa_sso_${tenant.port}`;

export function setSsoCookie(res: Response, tenant: Tenant, sid: string): void {
  res.append('Set-Cookie', `${ssoCookieName(tenant)}=${sid}; Path=/; HttpOnly; SameSite=Lax`);
}

export function clearSsoCookie(res: Response, tenant: Tenant): void {
  res.append('Set-Cookie', `${ssoCookieName(tenant)}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0`);
}

export function oauthError(res: Response, status: number, error: string, description: string): void {
  res.status(status).set('Cache-Control', 'no-store').json({ error, error_description: description });
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
