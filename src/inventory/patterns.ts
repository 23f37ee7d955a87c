import path from 'node:path';

/** ssh patterns know only `*` and `?`; Include globs also know `[...]` classes. */
export function wildcardToRegExp(pattern: string, options: { ignoreCase?: boolean; classes?: boolean } = {}): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] ?? '';
    if (c === '*') source += '.*';
    else if (c === '?') source += '.';
    else if (c === '[' && options.classes && pattern.indexOf(']', i + 2) > i) {
      const end = pattern.indexOf(']', i + 2);
      let body = pattern.slice(i + 1, end);
      if (body.startsWith('!')) body = `^${body.slice(1)}`;
      source += `[${body.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else source += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, options.ignoreCase ? 'is' : 's');
}

export const hasWildcard = (value: string, classes = false): boolean => (classes ? /[*?[]/ : /[*?]/).test(value);

/**
 * OpenSSH pattern-list semantics: a comma-separated list where a matching `!pattern` vetoes the whole
 * list, and otherwise any matching plain pattern is a match.
 */
export function matchPatternList(name: string, patterns: Iterable<string>, ignoreCase: boolean): boolean {
  let matched = false;
  for (const raw of patterns) {
    for (const item of raw.split(',')) {
      if (item === '') continue;
      const negated = item.startsWith('!');
      const pattern = negated ? item.slice(1) : item;
      if (!wildcardToRegExp(pattern, { ignoreCase }).test(name)) continue;
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

/**
 * Expands a glob(3)-style absolute pattern through readDir, sorted like glob does. A wildcard does not
 * match a leading dot unless the pattern segment starts with one.
 */
export function expandGlob(pattern: string, readDir: (dir: string) => string[] | undefined): string[] {
  if (!hasWildcard(pattern, true)) return [pattern];
  const root = path.parse(pattern).root;
  let found = [root];
  for (const segment of pattern.slice(root.length).split(/[\\/]+/)) {
    if (segment === '') continue;
    if (!hasWildcard(segment, true)) {
      found = found.map((dir) => path.join(dir, segment));
      continue;
    }
    const regexp = wildcardToRegExp(segment, { classes: true });
    const next: string[] = [];
    for (const dir of found) {
      const names = (readDir(dir) ?? [])
        .filter((name) => regexp.test(name) && (!name.startsWith('.') || segment.startsWith('.')))
        .sort();
      for (const name of names) next.push(path.join(dir, name));
    }
    found = next;
  }
  return found;
}
