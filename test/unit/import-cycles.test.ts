/**
 * kernel-magics has no import cycles (type-only imports included: a cycle
 * of types is still two modules that cannot be understood apart), and
 * kernel/ imports nothing above it (the composition root, src/main.ts,
 * wires the kernel to the rest; output/ is below both).
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

import { REPO_ROOT } from '../helpers/paths';

const SRC = path.join(REPO_ROOT, 'kernel-magics', 'src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? sources(full) : entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** Each source file's relative imports (static, dynamic and require), resolved to files. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sources(SRC)) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const targets = info.importedFiles
      .map((ref) => ref.fileName)
      .filter((spec) => spec.startsWith('.'))
      .map((spec) => {
        const base = path.resolve(path.dirname(file), spec);
        return [`${base}.ts`, path.join(base, 'index.ts')].find(
          (candidate) => graph.has(candidate) || sources(path.dirname(candidate)).includes(candidate),
        );
      })
      .filter((target): target is string => target !== undefined);
    graph.set(file, targets);
  }
  return graph;
}

function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') {
        found.push(stack.slice(stack.indexOf(next)).map((f) => path.relative(SRC, f)));
      } else if (!state.has(next)) {
        visit(next);
      }
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) {
    if (!state.has(file)) {
      visit(file);
    }
  }
  return found;
}

describe('kernel-magics module structure', () => {
  const graph = importGraph();

  it('has no import cycles', () => {
    expect(cycles(graph)).toEqual([]);
  });

  it('keeps kernel/ below everything: it imports only kernel/, output/ and package-root.ts', () => {
    const upward = [...graph].flatMap(([file, targets]) =>
      path.relative(SRC, file).startsWith('kernel/')
        ? targets
            .map((target) => path.relative(SRC, target))
            .filter((target) => !/^(kernel|output)\/|^package-root\.ts$/.test(target))
            .map((target) => `${path.relative(SRC, file)} -> ${target}`)
        : [],
    );
    expect(upward).toEqual([]);
  });
});
