// The table of coded errors. Services throw these; one handler (plugins/error-handler.ts)
// turns every error — ours or the framework's — into RFC 9457 application/problem+json.

export interface FieldProblem {
  /** Where: `body.items.3.value`, `query.limit`, `header.if-match`. */
  name: string
  reason: string
}

export const PROBLEM_TYPE_BASE = 'https://dcx.example.org/problems/'

const codes = {
  validation: { status: 400, title: 'Your request is not valid' },
  bad_request: { status: 400, title: 'Bad request' },
  unauthorized: { status: 401, title: 'Authentication required' },
  forbidden: { status: 403, title: 'Not allowed' },
  not_found: { status: 404, title: 'Not found' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  not_acceptable: { status: 406, title: 'Not acceptable' },
  conflict: { status: 409, title: 'Conflict' },
  payload_too_large: { status: 413, title: 'Request body too large' },
  precondition_failed: { status: 412, title: 'Precondition failed' },
  precondition_required: { status: 428, title: 'Precondition required' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  unprocessable: { status: 422, title: 'Unprocessable request' },
  rate_limited: { status: 429, title: 'Too many requests' },
  internal: { status: 500, title: 'Internal server error' },
  unavailable: { status: 503, title: 'Service unavailable' },
  timeout: { status: 503, title: 'Service unavailable' },
} as const

export type ErrorCode = keyof typeof codes

export class AppError extends Error {
  readonly status: number
  readonly title: string
  readonly headers: Record<string, string>
  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    readonly fields?: FieldProblem[],
    headers?: Record<string, string>,
  ) {
    super(detail)
    this.name = 'AppError'
    this.status = codes[code].status
    this.title = codes[code].title
    this.headers = headers ?? {}
  }
}

export function codeForStatus(status: number): ErrorCode {
  for (const [code, v] of Object.entries(codes)) if (v.status === status) return code as ErrorCode
  return status >= 500 ? 'internal' : 'bad_request'
}

export function titleFor(code: ErrorCode): string {
  return codes[code].title
}

export const notFound = (what = 'resource') => new AppError('not_found', `No ${what} with that id exists or you may not see it.`)
export const forbidden = (detail = 'Your roles do not allow this action.') => new AppError('forbidden', detail)
export const conflict = (detail: string) => new AppError('conflict', detail)
