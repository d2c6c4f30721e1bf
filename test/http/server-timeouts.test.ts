import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_KEY, startTestEngine, waitFor, type TestEngine } from '../support/engine.js';

/** A raw connection to the engine: what a slow or silent client does, byte by byte. */
async function open(port: number) {
  const socket: Socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let received = '';
  let closed = false;
  socket.on('data', (d: Buffer) => (received += d.toString()));
  socket.on('error', () => {});
  socket.on('close', () => (closed = true));
  let trickle: NodeJS.Timeout | undefined;
  return {
    write: (text: string) => socket.write(text),
    /** Writes one character of `text` every `everyMs` until the server hangs up (or the text runs out). */
    trickle(text: string, everyMs: number) {
      let i = 0;
      trickle = setInterval(() => {
        if (closed || i >= text.length) return clearInterval(trickle);
        socket.write(text[i++]!);
      }, everyMs);
    },
    received: () => received,
    closedByServer: () => waitFor(async () => closed, 'the server to close the connection', 20_000),
    destroy() {
      clearInterval(trickle);
      socket.destroy();
    },
  };
}

describe('slow and silent connections are cut off instead of piling up', () => {
  let engine: TestEngine;
  let port: number;
  const sockets: Array<Awaited<ReturnType<typeof open>>> = [];
  const connection = async () => {
    const s = await open(port);
    sockets.push(s);
    return s;
  };

  beforeAll(async () => {
    engine = await startTestEngine({
      TOKENS_HTTP_REQUEST_TIMEOUT_MS: '1500',
      TOKENS_HTTP_HEADERS_TIMEOUT_MS: '1000',
      TOKENS_HTTP_KEEP_ALIVE_TIMEOUT_MS: '1000',
    });
    port = engine.running.port!;
    await engine.setClock('2026-12-01T09:00:00Z');
    await engine.api('POST', '/v1/accounts', { userId: 'slow', plan: 'monthly_pro' });
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await engine?.stop();
  });

  it('a body trickled a byte at a time is answered 408 and closed, and nothing of it is accepted', async () => {
    const body = JSON.stringify({ userId: 'slow', feature: 'resume_upload', idempotencyKey: 'trickled' });
    const s = await connection();
    s.write(
      `POST /v1/usage HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${API_KEY}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    // At 4 bytes a second this body would take about 20 s; the engine allows the request 1.5 s.
    s.trickle(body, 250);
    await s.closedByServer();
    expect(s.received()).toMatch(/^HTTP\/1\.1 408 /);
    expect(JSON.parse(s.received().split('\r\n\r\n')[1]!)).toEqual({ error: { code: 'request_timeout', message: expect.stringContaining('did not arrive in time') } });
    expect((await engine.api('GET', '/v1/usage/trickled')).status).toBe(404);
    expect((await engine.api('GET', '/v1/accounts/slow')).body).toMatchObject({ balance: 100, usedThisPeriod: 0 });
  });

  it('headers trickled a line at a time, or never sent, are answered 408 and closed', async () => {
    const slow = await connection();
    slow.write(`GET /health HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`);
    slow.trickle('X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n', 100);
    const silent = await connection();
    await slow.closedByServer();
    await silent.closedByServer();
    for (const s of [slow, silent]) {
      expect(s.received()).toMatch(/^HTTP\/1\.1 408 /);
      expect(JSON.parse(s.received().split('\r\n\r\n')[1]!)).toMatchObject({ error: { code: 'request_timeout' } });
    }
  });

  it('an idle keep-alive connection is closed once its request is answered and nothing follows', async () => {
    const s = await connection();
    s.write(`GET /health HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: keep-alive\r\n\r\n`);
    await waitFor(async () => s.received().includes('\r\n\r\n'), 'the health answer');
    expect(s.received()).toMatch(/^HTTP\/1\.1 200 /);
    await s.closedByServer();
    // Clients that keep up are served as ever.
    expect((await engine.api('POST', '/v1/usage', { userId: 'slow', feature: 'resume_upload', idempotencyKey: 'prompt' })).status).toBe(202);
  });
});
