/**
 * The one error catalogue of the API: every TraceReportError code with the HTTP status it answers
 * with. Every error response is `{error: {code, message, details}}`.
 */
import { TraceReportError, isTraceReportError, type ErrorCode } from '../datasources/errors.js';

export const HTTP_STATUS: Record<ErrorCode, number> = {
  SOURCE_URL_INVALID: 400,
  SOURCE_CONNECT_FAILED: 502,
  SOURCE_QUERY_FAILED: 502,
  SOURCE_TIMEOUT: 504,
  SOURCE_ROW_LIMIT: 422,
  SQL_TEMPLATE_INVALID: 400,
  SQL_PARAM_MISSING: 400,
  SQL_PARAM_INVALID: 400,
  INGEST_INVALID: 400,
  INGEST_READ_FAILED: 400,
  LOT_NOT_FOUND: 404,
  ARGUMENT_INVALID: 400,
  TEMPLATE_INVALID: 400,
  TEMPLATE_VERSION_UNSUPPORTED: 400,
  TEMPLATE_NOT_FOUND: 404,
  PARAM_MISSING: 400,
  PARAM_UNKNOWN: 400,
  PARAM_INVALID: 400,
  DATASET_UNKNOWN: 400,
  FIELD_UNKNOWN: 400,
  SOURCE_UNKNOWN: 400,
  FORMULA_INVALID: 400,
  CHART_FAILED: 500,
  PDF_FAILED: 500,
  OUTPUT_FAILED: 500,
  AUTH_REQUIRED: 401,
  LOGIN_FAILED: 401,
  LOGIN_RATE_LIMITED: 429,
  PASSWORD_WEAK: 400,
  FORBIDDEN: 403,
  CSRF_INVALID: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  BODY_INVALID: 400,
  BODY_TOO_LARGE: 413,
  SECRET_KEY_INVALID: 500,
  VIEWER_NOT_BUILT: 503,
  INTERNAL: 500,
};

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details: unknown };
}

/** Any thrown value as a status and body; unknown errors become INTERNAL without their text. */
export function errorResponse(e: unknown): { status: number; body: ErrorBody } {
  if (isTraceReportError(e)) {
    return { status: HTTP_STATUS[e.code] ?? 500, body: { error: { code: e.code, message: e.message, details: e.details ?? null } } };
  }
  const status = (e as { status?: number; statusCode?: number })?.status ?? (e as { statusCode?: number })?.statusCode;
  const type = (e as { type?: string })?.type;
  if (status === 413 || type === 'entity.too.large') {
    return { status: 413, body: { error: { code: 'BODY_TOO_LARGE', message: 'request body is larger than the server accepts', details: null } } };
  }
  if (status === 400) {
    return { status: 400, body: { error: { code: 'BODY_INVALID', message: `request body is not valid JSON: ${(e as Error).message}`, details: null } } };
  }
  if (status === 415) {
    return { status: 415, body: { error: { code: 'BODY_INVALID', message: 'send the body as application/json', details: null } } };
  }
  return { status: 500, body: { error: { code: 'INTERNAL', message: 'internal error; the server log has the details', details: null } } };
}

export const notFound = (what: string, details?: unknown) => new TraceReportError('NOT_FOUND', `${what} not found`, details);
export const forbidden = (message: string, details?: unknown) => new TraceReportError('FORBIDDEN', message, details);
export const badBody = (message: string, details?: unknown) => new TraceReportError('BODY_INVALID', message, details);
