import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { Config } from '../config.js';
import type { ErrorCode } from '../errors.js';
import { errorBody } from './errors.js';

/**
 * What a client that the HTTP parser refuses is told, in the contract's error shape, before the
 * connection closes: a request that took too long to arrive (408), headers too large (431), or bytes
 * that are not HTTP (400). No route saw the request.
 */
function refuseClient(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, code, message]: [number, ErrorCode, string] =
    error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'request_timeout', 'the request did not arrive in time (TOKENS_HTTP_REQUEST_TIMEOUT_MS, TOKENS_HTTP_HEADERS_TIMEOUT_MS)']
      : error.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'validation_failed', 'the request headers are too large']
        : [400, 'validation_failed', 'the request is not valid HTTP'];
  const body = JSON.stringify(errorBody(code, message));
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * How long a client may take, so that slow or silent connections cannot pile up: the headers within
 * `headersTimeoutMs` of the connection or of the previous request, and the whole request within
 * `requestTimeoutMs` (a body trickled a byte at a time is answered 408 and closed), and an idle
 * keep-alive connection closed after `keepAliveTimeoutMs` (by default longer than a load balancer's
 * idle timeout, so it never reuses a connection just closed). Node checks the first two every
 * `connectionsCheckingInterval`, set well below them.
 */
export function serverOptions(http: Config['http']) {
  return {
    requestTimeout: http.requestTimeoutMs,
    keepAliveTimeout: http.keepAliveTimeoutMs,
    http: {
      headersTimeout: http.headersTimeoutMs,
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(http.headersTimeoutMs / 4))),
    },
    clientErrorHandler: refuseClient,
  };
}
