// npm run version:set -- <version>: sets the version of every package of the
// repository in one go, so the npm packages, the wheel and the lock never disagree:
//  - package.json of the root and of every workspace (kernel-magics, extension, lab);
//  - the workspaces' dependencies on each other (extension -> serverless-kernel),
//    keeping their range operator (0.1.0 -> 0.2.0, ^0.1.0 -> ^0.2.0);
//  - package-lock.json: the same versions and dependencies, as npm writes them;
//  - a pyproject.toml of a workspace that holds a literal version (extension's
//    reads package.json's, so it follows by itself);
//  - CHANGELOG.md: its "## Unreleased" heading becomes "## <version> - <date>"
//    under a new, empty "## Unreleased" (or the heading is added when missing).
// Usage: node scripts/set-version.mjs <version> [--root DIR] [--date YYYY-MM-DD]
//   --root  the repository to change (default: this one; tests pass a copy)
//   --date  the release date in the changelog (default: today, UTC)
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/** Semantic versioning 2.0.0: MAJOR.MINOR.PATCH, an optional pre-release and build. */
const SEMVER =
  /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$/;
const DEPENDENCY_FIELDS = ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies'];
const USAGE = 'Usage: npm run version:set -- <version> [--root DIR] [--date YYYY-MM-DD]';

function fail(message) {
  process.stderr.write(`version:set: ${message}\n`);
  process.exit(1);
}

let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      root: { type: 'string', default: path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..') },
      date: { type: 'string', default: new Date().toISOString().slice(0, 10) },
    },
  });
} catch (error) {
  fail(`${error.message}\n${USAGE}`);
}
const [version, ...extra] = parsed.positionals;
const root = path.resolve(parsed.values.root);
const date = parsed.values.date;
if (!version || extra.length > 0) {
  fail(USAGE);
}
if (!SEMVER.test(version)) {
  fail(`"${version}" is not a semantic version (MAJOR.MINOR.PATCH, e.g. 0.2.0 or 1.0.0-rc.1)`);
}
if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) {
  fail(`--date takes YYYY-MM-DD, got "${date}"`);
}

const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));
const writeJson = (file, value) => writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
/** A dependency range on a workspace, moved to the new version with its operator kept. */
const moveRange = (range) => {
  const match = /^([~^]|>=|=)?\d[^\s]*$/.exec(range);
  return match ? `${match[1] ?? ''}${version}` : range;
};
/** Moves an entry's dependencies on the workspaces to the new version. */
function moveDependencies(entry, workspaceNames) {
  for (const field of DEPENDENCY_FIELDS) {
    for (const name of Object.keys(entry[field] ?? {})) {
      if (workspaceNames.has(name)) {
        entry[field][name] = moveRange(entry[field][name]);
      }
    }
  }
}

const rootManifestFile = path.join(root, 'package.json');
if (!existsSync(rootManifestFile)) {
  fail(`${root} has no package.json`);
}
const rootManifest = readJson(rootManifestFile);
const workspaceDirs = rootManifest.workspaces ?? [];
const workspaceNames = new Set(
  workspaceDirs.map((dir) => readJson(path.join(root, dir, 'package.json')).name),
);
const changed = [];

// 1. package.json files.
rootManifest.version = version;
writeJson(rootManifestFile, rootManifest);
changed.push('package.json');
for (const dir of workspaceDirs) {
  const file = path.join(root, dir, 'package.json');
  const manifest = readJson(file);
  manifest.version = version;
  moveDependencies(manifest, workspaceNames);
  writeJson(file, manifest);
  changed.push(path.join(dir, 'package.json'));
}

// 2. The lock: the root and workspace entries (the workspaces' links in node_modules carry no version).
const lockFile = path.join(root, 'package-lock.json');
if (existsSync(lockFile)) {
  const lock = readJson(lockFile);
  lock.version = version;
  for (const key of ['', ...workspaceDirs]) {
    const entry = lock.packages?.[key];
    if (!entry) {
      fail(`package-lock.json has no entry "${key}": run npm install first`);
    }
    entry.version = version;
    moveDependencies(entry, workspaceNames);
  }
  writeJson(lockFile, lock);
  changed.push('package-lock.json');
}

// 3. pyproject.toml files with a literal version (a dynamic one follows package.json).
/** The pyproject text with `version = "..."` of its [project] table set; unchanged without one. */
function setPyprojectVersion(text) {
  let table = '';
  return text
    .split('\n')
    .map((line) => {
      const header = /^\s*\[([^\]]+)\]\s*$/.exec(line);
      if (header) {
        table = header[1].trim();
      }
      return table === 'project' ? line.replace(/^(\s*version\s*=\s*)"[^"]*"/, `$1"${version}"`) : line;
    })
    .join('\n');
}
for (const dir of ['.', ...workspaceDirs]) {
  const file = path.join(root, dir, 'pyproject.toml');
  if (!existsSync(file)) {
    continue;
  }
  const text = readFileSync(file, 'utf8');
  const updated = setPyprojectVersion(text);
  if (updated !== text) {
    writeFileSync(file, updated);
    changed.push(path.join(dir, 'pyproject.toml'));
  }
}

// 4. The changelog's heading for this release: "Unreleased" becomes it, under a new "Unreleased".
const changelogFile = path.join(root, 'CHANGELOG.md');
if (existsSync(changelogFile)) {
  const text = readFileSync(changelogFile, 'utf8');
  const heading = `## ${version} - ${date}`;
  const released = new RegExp(`^## ${version.replace(/[.+]/g, '\\$&')}( |$)`, 'm');
  if (!released.test(text)) {
    let updated;
    if (/^## Unreleased$/m.test(text)) {
      updated = text.replace(/^## Unreleased$/m, `## Unreleased\n\n${heading}`);
    } else if (/^# .*\n/.test(text)) {
      updated = text.replace(/^(# .*\n)/, `$1\n${heading}\n`);
    } else {
      updated = `${heading}\n\n${text}`;
    }
    writeFileSync(changelogFile, updated);
    changed.push('CHANGELOG.md');
  }
}

process.stdout.write(`version:set: ${version} in ${changed.join(', ')}\n`);
