// Optional per-path rules: the first rule whose prefix matches the original path decides.
import type { IdentityClaims } from '../login/identity.ts';

export interface AccessRule {
  pathPrefix: string;
  role?: 'admin' | 'user';
  tenants?: string[];
}

function matches(path: string, prefix: string): boolean {
  if (prefix === '/') return true;
  const p = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  return path === p || path.startsWith(`${p}/`) || path.startsWith(`${p}?`);
}

/** null = allowed; otherwise the reason for a 403. With rules, an unknown path fails closed. */
export function checkAccess(rules: readonly AccessRule[], path: string | undefined, claims: IdentityClaims): string | null {
  if (!rules.length) return null;
  if (path === undefined) return 'the proxy did not say (consistently) which path was requested, so the access rules cannot be applied';
  // compare on the decoded, dot-segment-free path so /admin/../x or /%61dmin do not slip past
  let clean: string;
  try {
    clean = new URL(path, 'http://x').pathname;
    clean = decodeURIComponent(clean);
  } catch {
    return 'the requested path is not valid';
  }
  const rule = rules.find((r) => matches(clean, r.pathPrefix));
  if (!rule) return null;
  if (rule.role === 'admin' && claims.role !== 'admin') return `${rule.pathPrefix} is for administrators only`;
  if (rule.tenants && !rule.tenants.includes(claims.tenant)) return `${rule.pathPrefix} is not available to your company`;
  return null;
}
