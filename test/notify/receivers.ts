import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { Webhook } from 'standardwebhooks';

export function webhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

export interface ReceivedWebhook {
  id: string;
  /** Whether the Standard Webhooks signature checked out with the shared secret. */
  verified: boolean;
  body: { type: string; timestamp: string; data: any };
  /** What the receiver answered. */
  status: number;
}

/** How the receiver answers a request: the message id and how many times that id came before. */
export type Answering = (id: string, seen: number) => number;

/** A real HTTP endpoint that verifies signatures with the standardwebhooks package, as a customer's would. */
export async function startWebhookReceiver(secret: string, answering: Answering = () => 200) {
  const verifier = new Webhook(secret);
  const requests: ReceivedWebhook[] = [];
  let answer = answering;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString();
      const id = String(req.headers['webhook-id'] ?? '');
      let verified = true;
      try {
        verifier.verify(raw, headersOf(req.headers));
      } catch {
        verified = false;
      }
      const status = answer(id, requests.filter((r) => r.id === id).length);
      requests.push({ id, verified, body: JSON.parse(raw), status });
      res.writeHead(status).end();
    });
  });
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    requests,
    /** Messages acknowledged (answered 2xx), in the order they were. */
    acknowledged: () => requests.filter((r) => r.status >= 200 && r.status < 300),
    answerWith(next: Answering) {
      answer = next;
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

function headersOf(h: IncomingHttpHeaders): Record<string, string> {
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]));
}

export interface ReceivedEmail {
  from: string;
  to: string[];
  subject: string;
  text: string;
  messageId: string;
}

/** A real SMTP server on a local port, decoding what it receives (headers, then a single text part). */
export async function startSmtpReceiver() {
  const received: ReceivedEmail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const mail = parseMessage(Buffer.concat(chunks).toString('latin1'));
        received.push({
          ...mail,
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
        });
        callback();
      });
    },
  });
  server.listen(0, '127.0.0.1');
  await new Promise((r) => server.server.once('listening', r));
  return {
    url: `smtp://127.0.0.1:${(server.server.address() as AddressInfo).port}`,
    received,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

function parseMessage(raw: string): Omit<ReceivedEmail, 'from' | 'to'> {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const body = raw.slice(split + 4);
  const header = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(head)?.[1]?.trim() ?? '';
  const encoding = header('Content-Transfer-Encoding').toLowerCase();
  const bytes =
    encoding === 'base64'
      ? Buffer.from(body.replace(/\s+/g, ''), 'base64')
      : encoding === 'quoted-printable'
        ? quotedPrintable(body)
        : Buffer.from(body, 'latin1');
  return { subject: encodedWords(header('Subject')), text: bytes.toString('utf8').replace(/\r\n/g, '\n'), messageId: header('Message-ID') };
}

function quotedPrintable(s: string): Buffer {
  const bytes: number[] = [];
  const unfolded = s.replace(/=\r\n/g, '');
  for (let i = 0; i < unfolded.length; i++) {
    if (unfolded[i] === '=' && /^[0-9A-F]{2}$/i.test(unfolded.slice(i + 1, i + 3))) {
      bytes.push(parseInt(unfolded.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(unfolded.charCodeAt(i));
  }
  return Buffer.from(bytes);
}

/** RFC 2047: adjacent encoded words join without the space between them, and bytes before characters. */
function encodedWords(value: string): string {
  const parts = value.split(/(=\?[^?]+\?[BbQq]\?[^?]*\?=)/).filter((p, i, all) => !(p.trim() === '' && i > 0 && i < all.length - 1));
  const bytes = parts.map((p) => {
    const m = /^=\?[^?]+\?([BbQq])\?([^?]*)\?=$/.exec(p);
    if (!m) return Buffer.from(p, 'latin1');
    return m[1]!.toUpperCase() === 'B' ? Buffer.from(m[2]!, 'base64') : quotedPrintable(m[2]!.replace(/_/g, ' '));
  });
  return Buffer.concat(bytes).toString('utf8');
}
