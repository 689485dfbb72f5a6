// What every response of the gateway's own carries (pages, JSON, redirects alike): no framing
// (clickjacking of the sign-in, sign-out and confirmation pages), no MIME sniffing, no Referer
// (callback URLs carry codes and tickets, /login URLs the return_to), and a policy that lets a
// page load nothing but the gateway's own styles and images. Proxied app responses are the app's
// business and never get these.
//
// script-src 'self' rather than 'none': the OIDC provider's form_post page adds the hash of its
// one inline script to an existing script-src. No form-action: browsers apply it to the redirect
// after a form post too, which would stop the OIDC sign-out confirmation from going back to the app.
import type { ServerResponse } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'";

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

export function setSecurityHeaders(res: ServerResponse): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
}

/** for every request `own` says the gateway answers itself (in proxy mode, not the app's paths) */
export function securityHeaders(own: (req: Request) => boolean): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if (own(req)) setSecurityHeaders(res);
    next();
  };
}
