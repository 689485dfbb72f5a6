// The console names a session by a handle, never by its id (the id plus the cookie secret is the
// cookie). A handle is the id sealed with AES-256-GCM under a console key, its IV derived from the
// id (synthetic IV): the same session always has the same handle, and a handle opens only here.
import { createCipheriv, createDecipheriv, createHmac, timingSafeEqual } from 'node:crypto';

export class SessionHandles {
  constructor(private readonly key: Buffer) {}

  private iv(sid: string): Buffer {
    return createHmac('sha256', this.key).update(sid, 'utf8').digest().subarray(0, 12);
  }

  handleOf(sid: string): string {
    const iv = this.iv(sid);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([c.update(sid, 'utf8'), c.final()]);
    return Buffer.concat([iv, c.getAuthTag(), body]).toString('base64url');
  }

  /** the session id, or null for anything that is not a handle made here */
  sessionId(handle: string): string | null {
    if (!/^[A-Za-z0-9_-]{40,400}$/.test(handle)) return null;
    const raw = Buffer.from(handle, 'base64url');
    const iv = raw.subarray(0, 12);
    try {
      const d = createDecipheriv('aes-256-gcm', this.key, iv);
      d.setAuthTag(raw.subarray(12, 28));
      const sid = Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8');
      return timingSafeEqual(iv, this.iv(sid)) ? sid : null;
    } catch {
      return null;
    }
  }
}
