// GET /.well-known/jwks.json: the public keys that verify identity tokens. Relying parties may
// cache it for 5 minutes, well within the lead a new key is published before it signs.
import express from 'express';
import type { KeyManager } from './keys.ts';

export function jwksRouter(keys: KeyManager): express.Router {
  const router = express.Router();
  router.get('/.well-known/jwks.json', (_req, res) => {
    res.set('Cache-Control', 'public, max-age=300');
    res.json(keys.jwks());
  });
  return router;
}
