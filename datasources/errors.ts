/**
 * One error type for the whole product: a stable machine-readable code, a message that says
 * what was wrong and what to do, and optional structured details.
 */
export type ErrorCode =
  | 'SOURCE_URL_INVALID'
  | 'SOURCE_CONNECT_FAILED'
  | 'SOURCE_QUERY_FAILED'
  | 'SOURCE_TIMEOUT'
  | 'SOURCE_ROW_LIMIT'
  | 'SQL_TEMPLATE_INVALID'
  | 'SQL_PARAM_MISSING'
  | 'SQL_PARAM_INVALID'
  | 'INGEST_INVALID'
  | 'INGEST_READ_FAILED'
  | 'LOT_NOT_FOUND'
  | 'ARGUMENT_INVALID'
  // report engine
  | 'TEMPLATE_INVALID'
  | 'TEMPLATE_VERSION_UNSUPPORTED'
  | 'TEMPLATE_NOT_FOUND'
  | 'PARAM_MISSING'
  | 'PARAM_UNKNOWN'
  | 'PARAM_INVALID'
  | 'DATASET_UNKNOWN'
  | 'FIELD_UNKNOWN'
  | 'SOURCE_UNKNOWN'
  | 'FORMULA_INVALID'
  | 'CHART_FAILED'
  | 'PDF_FAILED'
  | 'OUTPUT_FAILED'
  // server (HTTP status in server/errors.ts)
  | 'AUTH_REQUIRED'
  | 'LOGIN_FAILED'
  | 'LOGIN_RATE_LIMITED'
  | 'PASSWORD_WEAK'
  | 'FORBIDDEN'
  | 'CSRF_INVALID'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'BODY_INVALID'
  | 'BODY_TOO_LARGE'
  | 'SECRET_KEY_INVALID'
  | 'VIEWER_NOT_BUILT'
  | 'INTERNAL';

export class TraceReportError extends Error {
  readonly code: ErrorCode;
  readonly details?: unknown;

  constructor(code: ErrorCode, message: string, details?: unknown, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TraceReportError';
    this.code = code;
    this.details = details;
  }
}

export function isTraceReportError(e: unknown): e is TraceReportError {
  return e instanceof TraceReportError;
}
