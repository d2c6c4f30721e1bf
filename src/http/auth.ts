import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { errorBody } from './errors.js';

function matches(candidate: string, keys: readonly Buffer[]): boolean {
  const c = Buffer.from(candidate);
  return keys.some((b) => b.length === c.length && timingSafeEqual(b, c));
}

/** The key a request presents: `Authorization: Bearer <key>`, or HTTP Basic with the key as password (browsers). */
export function presentedKey(request: Pick<FastifyRequest, 'headers'>): string | undefined {
  const header = request.headers.authorization ?? '';
  const bearer = /^Bearer\s+(.+)$/i.exec(header);
  if (bearer) return bearer[1]!.trim();
  const basic = /^Basic\s+(.+)$/i.exec(header);
  if (basic) {
    const decoded = Buffer.from(basic[1]!, 'base64').toString();
    return decoded.slice(decoded.indexOf(':') + 1);
  }
  return undefined;
}

/** An onRequest hook admitting only requests that present one of `keys`. */
export function requireKey(keys: readonly string[], realm: string, opts: { basicChallenge?: boolean } = {}) {
  // The keys' bytes once, not on every request.
  const keyBytes = keys.map((k) => Buffer.from(k));
  // A callback hook, not an async one: every request of the API passes here, and a promise per hook is
  // one more turn of the microtask queue on the path of the one-connection check.
  return (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    const key = presentedKey(request);
    if (key && matches(key, keyBytes)) return done();
    if (opts.basicChallenge) reply.header('www-authenticate', `Basic realm="${realm}", charset="UTF-8"`);
    // Answered here: the request goes no further (a callback hook that replies does not call done).
    void reply
      .status(401)
      .send(errorBody('unauthorized', key ? `that key is not valid for ${realm}` : `${realm} requires Authorization: Bearer <key>`));
  };
}

/**
 * Who made an admin change, for the audit log: a fingerprint of the key (the first 12 hex digits of its
 * SHA-256, `printf %s "$KEY" | sha256sum | cut -c1-12`), which names the key without revealing any of it.
 */
export function adminActor(request: Pick<FastifyRequest, 'headers'>): string {
  return `admin-key:${keyFingerprint(presentedKey(request) ?? '')}`;
}

export function keyFingerprint(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 12);
}
