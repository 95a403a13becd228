/**
 * The built web viewer (designer/, built by `npm run build` into dist/designer): its files, and
 * index.html for the viewer's own pages (`/`, `/login`, `/view/<report>`, `/reports/<id>`, `/audit`, `/collectors`)
 * so a deep link or a reload opens the app. Mounted after the API router, so every API path keeps
 * its JSON answers (an unknown /api path stays a JSON 404). The files hold no data: they are served
 * without a session; every API call the app makes is checked by the route table's guard.
 * Hashed files under /assets/ may be cached for a year; index.html is never cached.
 * When the viewer was not built, its pages answer 503 with a JSON error that says how to build it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Context, Middleware, Next } from 'koa';
import serve from 'koa-static';
import { TraceReportError } from '../datasources/errors.js';

export const VIEWER_DIR_ENV = 'TRACEREPORT_VIEWER_DIR';

/** Paths the viewer app routes itself: answered with index.html. */
const APP_PAGES = [/^\/$/, /^\/login\/?$/, /^\/audit\/?$/, /^\/collectors\/?$/, /^\/view\/[^/]+\/?$/, /^\/reports\/\d+\/?$/];

export function isViewerPage(p: string): boolean {
  return APP_PAGES.some((re) => re.test(p));
}

/** The package root: the nearest folder above this module holding package.json (from source and from dist/). */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('package.json not found above server/static');
    dir = up;
  }
  return dir;
}

/** Where the built viewer is: $TRACEREPORT_VIEWER_DIR, else dist/designer at the package root. */
export function viewerDir(): string {
  return process.env[VIEWER_DIR_ENV] || path.join(packageRoot(), 'dist', 'designer');
}

const YEAR_SECONDS = 365 * 24 * 3600;

export function viewerStatic(dir = viewerDir()): Middleware {
  const index = path.join(dir, 'index.html');
  const files = serve(dir, {
    index: false,
    hidden: false,
    gzip: false,
    brotli: false,
    setHeaders(res, file) {
      // Vite names these by content hash: a changed file gets a new name.
      if (path.relative(dir, file).startsWith(`assets${path.sep}`)) res.setHeader('Cache-Control', `public, max-age=${YEAR_SECONDS}, immutable`);
    },
  });
  return async (ctx: Context, next: Next): Promise<void> => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next();
    const page = isViewerPage(ctx.path);
    if (!page && !ctx.path.startsWith('/assets/') && ctx.path !== '/favicon.svg') return next();
    (ctx.state as { route?: string }).route = page ? '(viewer page)' : '(viewer file)';
    if (!fs.existsSync(index)) {
      if (!page) return next();
      throw new TraceReportError(
        'VIEWER_NOT_BUILT',
        `the web viewer is not built (${index} is missing): run \`npm run build\` in the TraceReport folder (scripts/setup.sh does it), then reload; the API under /api works without it`,
        { dir },
      );
    }
    if (page) {
      ctx.type = 'text/html; charset=utf-8';
      ctx.set('Cache-Control', 'no-cache');
      ctx.body = fs.createReadStream(index);
      return;
    }
    try {
      await files(ctx, next);
    } catch (e) {
      // koa-send refuses a path that leaves the folder (403) or cannot be decoded (400): as if absent.
      const status = (e as { status?: number }).status;
      if (status === undefined || status < 400 || status >= 500) throw e;
      await next();
    }
  };
}
