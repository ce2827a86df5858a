// A request Node's HTTP parser refuses before Fastify sees it (a header with control characters,
// an over-long header block, a malformed request line) answers RFC 9457 problem+json like every
// other refusal, not Fastify's default JSON. Nothing about the request is echoed (it may carry a
// token); the connection is closed, as the parser left it unusable.
import { randomUUID } from 'node:crypto'
import type { Socket } from 'node:net'
import { PROBLEM_TYPE_BASE } from '../core/errors.js'

const STATUS: Record<string, [number, string, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'headers-too-large', 'Request header fields too large'],
  HPE_URI_TOO_LONG: [414, 'uri-too-long', 'URI too long'],
}

export function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  if (!socket.writable) {
    socket.destroy()
    return
  }
  const [status, type, title] = STATUS[err.code ?? ''] ?? [400, 'bad-request', 'Bad request']
  const id = randomUUID()
  const body = JSON.stringify({
    type: PROBLEM_TYPE_BASE + type,
    title,
    status,
    detail: 'The HTTP request could not be parsed (for example a header with control characters); nothing of it was processed.',
    requestId: id,
  })
  socket.end(
    `HTTP/1.1 ${status} ${title}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
      `X-Request-Id: ${id}\r\nX-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${body}`,
  )
}
