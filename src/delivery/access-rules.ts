// Optional per-path rules: the first rule whose prefix matches the request's canonical path
// decides. Paths and prefixes are compared in canonical form (src/web/canonical-path.ts),
// case-insensitively unless access.caseSensitivePaths: apps route /Admin like /admin.
import type { IdentityClaims } from '../identity/identity.ts';
import { canonicalPath, foldCase, type CanonicalPath } from '../web/canonical-path.ts';

export interface AccessRule {
  pathPrefix: string;
  role?: 'admin' | 'user';
  tenants?: string[];
}

/** 400: the path is ambiguous or unknown (forward-auth answers 403); 403: the person may not */
export type AccessRefusal = { status: 400 | 403; reason: string };

interface Compiled extends AccessRule {
  /** canonical, case-folded unless case-sensitive, without a trailing slash ('' for the root) */
  prefix: string;
}

export class AccessRules {
  private readonly compiled: Compiled[];

  constructor(
    rules: readonly AccessRule[],
    private readonly caseSensitive = false,
  ) {
    this.compiled = rules.map((r) => {
      const c = canonicalPath(r.pathPrefix);
      // the settings schema refuses such prefixes; a rule that cannot match must not be dropped silently
      if (!c.ok) throw new Error(`access rule ${r.pathPrefix}: ${c.reason}`);
      return { ...r, prefix: this.fold(c.path).replace(/\/$/, '') };
    });
  }

  /** with no rules the path is never looked at */
  get active(): boolean {
    return this.compiled.length > 0;
  }

  private fold(path: string): string {
    return this.caseSensitive ? path : foldCase(path);
  }

  /** null = allowed. The request's path is only computed when there are rules. */
  check(request: { path(): CanonicalPath }, claims: IdentityClaims): AccessRefusal | null {
    if (!this.active) return null;
    const p = request.path();
    if (!p.ok) return { status: 400, reason: `the requested path cannot be judged: ${p.reason}` };
    const folded = this.fold(p.path);
    const rule = this.compiled.find((r) => r.prefix === '' || folded === r.prefix || folded.startsWith(`${r.prefix}/`));
    if (!rule) return null;
    if (rule.role === 'admin' && claims.role !== 'admin') return { status: 403, reason: `${rule.pathPrefix} is for administrators only` };
    if (rule.tenants && !rule.tenants.includes(claims.tenant)) return { status: 403, reason: `${rule.pathPrefix} is not available to your company` };
    return null;
  }
}
