/**
 * MQTT topic filters (`+` one level, `#` the remaining levels) matched against received topics, and the
 * `{1}`, `{2}` … placeholders of a tag's equipment and parameter filled from the levels the wildcards matched.
 */

/** A compiled topic filter: `match` returns the wildcard captures in order, or undefined when the topic does not match. */
export interface TopicFilter {
  readonly filter: string;
  /** How many captures a match yields (`#` counts as one). */
  readonly wildcards: number;
  match(topic: string): string[] | undefined;
}

/** Checks a filter the way a broker does; throws a RangeError that says what is wrong. */
export function compileFilter(filter: string): TopicFilter {
  if (filter.length === 0) throw new RangeError('a topic filter must not be empty');
  const levels = filter.split('/');
  levels.forEach((level, i) => {
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) {
      throw new RangeError(`topic filter "${filter}": # must be a whole level and the last one`);
    }
    if (level.includes('+') && level !== '+') throw new RangeError(`topic filter "${filter}": + must be a whole level`);
  });
  const wildcards = levels.filter((l) => l === '+' || l === '#').length;
  return {
    filter,
    wildcards,
    match(topic: string): string[] | undefined {
      const parts = topic.split('/');
      // Wildcards at the first level do not match topics starting with $ (broker-internal, e.g. $SYS).
      if (topic.startsWith('$') && (levels[0] === '+' || levels[0] === '#')) return undefined;
      const captures: string[] = [];
      for (let i = 0; i < levels.length; i++) {
        const level = levels[i]!;
        if (level === '#') {
          // `a/#` matches `a` too (the parent level).
          captures.push(parts.slice(i).join('/'));
          return captures;
        }
        if (i >= parts.length) return undefined;
        if (level === '+') captures.push(parts[i]!);
        else if (level !== parts[i]) return undefined;
      }
      return parts.length === levels.length ? captures : undefined;
    },
  };
}

const PLACEHOLDER = /\{(\d+)\}/g;

/** The highest placeholder number in a template (0 when none). */
export function highestPlaceholder(template: string): number {
  let max = 0;
  for (const m of template.matchAll(PLACEHOLDER)) max = Math.max(max, Number(m[1]));
  return max;
}

/** Fills `{n}` (1-based) from the captures; undefined when a capture is missing or empty. */
export function fillTemplate(template: string, captures: readonly string[]): string | undefined {
  let ok = true;
  const out = template.replace(PLACEHOLDER, (_, n: string) => {
    const c = captures[Number(n) - 1];
    if (c === undefined || c === '') ok = false;
    return c ?? '';
  });
  return ok ? out : undefined;
}
