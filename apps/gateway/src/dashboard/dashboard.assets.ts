import { join, posix, relative, sep } from 'node:path';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { NextFunction, Request, Response } from 'express';

/** Where the browser finds the dashboard; the Vite build's `base`. */
export const DASHBOARD_PATH = '/ui';

/**
 * The dashboard's own code only, talking to this origin only: the page runs no inline script or
 * style, so a string the API returns (a log line, a model's reply) can never become code.
 */
export const DASHBOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'self'",
].join('; ');

/** Vite names what it emits under assets/ by content hash: a changed file gets a new name. */
const HASHED_DIR = 'assets';
const IMMUTABLE = 'public, max-age=31536000, immutable';
// index.html names the current hashes, so the browser must ask again each time (a 304 when unchanged).
const REVALIDATE = 'no-cache';

function plain(res: Response, status: number, text: string): void {
  res.status(status).type('text/plain; charset=utf-8').setHeader('Cache-Control', 'no-store');
  res.send(text);
}

/** A path under /ui that names a file (an extension), or tries to leave the directory. */
function pathProblem(path: string): 'traversal' | 'file' | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return 'traversal';
  }
  const segments = decoded.split(/[\\/]/);
  if (decoded.includes('\0') || segments.includes('..')) return 'traversal';
  // A hidden name (.env) has no extension to posix.extname, but it is a file all the same.
  const last = segments[segments.length - 1] ?? '';
  return last.startsWith('.') || posix.extname(last) !== '' ? 'file' : undefined;
}

/**
 * The built dashboard at /ui/ (behind the RequestGate, so its Host check applies): the files with
 * express's static server, any other GET under /ui/ answered with index.html so that a reload of
 * a page of the app works, and a 503 that says how to build it when it has not been built. The
 * gateway starts either way: the API does not need the dashboard.
 */
export function serveDashboard(app: NestExpressApplication, dir: string): void {
  app.use(DASHBOARD_PATH, (req: Request, res: Response, next: NextFunction) => {
    res.setHeader('Content-Security-Policy', DASHBOARD_CSP);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    // The page's asset URLs are relative to /ui/: without the slash the browser would look in /.
    const [pathname = '', query] = req.originalUrl.split('?', 2);
    if (pathname === DASHBOARD_PATH) {
      res.redirect(301, `${DASHBOARD_PATH}/${query === undefined ? '' : `?${query}`}`);
      return;
    }
    next();
  });
  app.useStaticAssets(dir, {
    prefix: DASHBOARD_PATH,
    index: false,
    redirect: false,
    dotfiles: 'ignore',
    fallthrough: true,
    setHeaders: (res: Response, path: string) => {
      const inHashedDir = relative(dir, path).split(sep)[0] === HASHED_DIR;
      res.setHeader('Cache-Control', inHashedDir ? IMMUTABLE : REVALIDATE);
    },
  });
  app.use(DASHBOARD_PATH, (req: Request, res: Response, next: NextFunction) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      next();
      return;
    }
    const problem = pathProblem(req.path);
    if (problem !== undefined) {
      // A missing script must fail as a 404, not as an HTML page the browser refuses to run.
      plain(res, 404, `Not found: ${req.path.slice(0, 200)} is not a file of the dashboard`);
      return;
    }
    res.sendFile(join(dir, 'index.html'), { headers: { 'Cache-Control': REVALIDATE } }, (error?: Error) => {
      if (error === undefined) return;
      if (res.headersSent) {
        next(error);
        return;
      }
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        plain(
          res,
          503,
          `The dashboard is not built: ${join(dir, 'index.html')} does not exist.\n` +
            'Run `npm run build` in the aiplane checkout (npm start does it), or point ' +
            'GATEWAY_DASHBOARD_DIR at a built dashboard, then reload this page.\n',
        );
        return;
      }
      next(error);
    });
  });
}
