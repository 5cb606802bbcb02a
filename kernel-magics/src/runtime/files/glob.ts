/**
 * The glob patterns of `--files`: `*` and `?` within a path segment, `**`
 * across segments, `{a,b}` alternatives; paths are relative to the
 * notebook's directory, with `/` between segments.
 */

/** A pattern that does not stay inside the notebook's directory. */
export class GlobError extends Error {
  override readonly name = 'GlobError';
}

/**
 * The regular expression a glob stands for (matched against whole relative paths).
 * @throws GlobError for an absolute pattern, one with a `..` segment, or unbalanced braces.
 */
export function globToRegExp(glob: string): RegExp {
  if (glob.startsWith('/') || glob.split('/').includes('..')) {
    throw new GlobError(
      `${glob} leaves the notebook's directory: give a pattern relative to it (e.g. data/*.csv).`,
    );
  }
  let source = '';
  let braces = 0;
  for (let i = 0; i < glob.length; i += 1) {
    const c = glob[i];
    if (glob.startsWith('**/', i)) {
      source += '(?:.*/)?';
      i += 2;
    } else if (glob.startsWith('**', i)) {
      source += '.*';
      i += 1;
    } else if (c === '*') {
      source += '[^/]*';
    } else if (c === '?') {
      source += '[^/]';
    } else if (c === '{') {
      braces += 1;
      source += '(?:';
    } else if (c === '}' && braces > 0) {
      braces -= 1;
      source += ')';
    } else if (c === ',' && braces > 0) {
      source += '|';
    } else {
      source += c.replace(/[.+^$()|[\]\\}]/g, '\\$&');
    }
  }
  if (braces !== 0) {
    throw new GlobError(`${glob} has a { without its }.`);
  }
  return new RegExp(`^${source}$`);
}

/** Whether a walk should look into dot-directories and dot-files for this glob (only when it names one). */
export function globNamesDotEntries(glob: string): boolean {
  return glob.split('/').some((segment) => segment.startsWith('.'));
}
