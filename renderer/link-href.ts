/**
 * The address a resolved link points to, shared by every output so HTML anchors and XLSX hyperlinks agree.
 * A report link opens the viewer on the target report with its parameters: `/view/<report>?name=value&...`
 * (a multi-value parameter repeats its name). `base` is prefixed (e.g. `https://host`) for files opened
 * outside the viewer, such as XLSX and PDF.
 */
import type { ResolvedLink } from './resolved.js';

export function linkHref(link: ResolvedLink, base = ''): string {
  if ('url' in link) return link.url;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(link.params)) {
    if (v === null || v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) q.append(k, String(one));
  }
  const query = q.toString();
  return `${base}/view/${encodeURIComponent(link.report)}${query ? `?${query}` : ''}`;
}
