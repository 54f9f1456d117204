// Keeps `npm ci` quiet on the documented Node floor: every package the
// lockfile installs must admit the lowest Node that package.json's `engines`
// allows (npm prints an EBADENGINE warning for each one that does not), and
// every dependency with an install script must be reviewed in `allowScripts`
// (npm 11 skips unreviewed install scripts and warns about them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import semver from 'semver';

const root = new URL('../..', import.meta.url);

interface LockEntry {
  version?: string;
  engines?: unknown;
  hasInstallScript?: boolean;
}

const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as {
  engines?: { node?: string };
  allowScripts?: Record<string, boolean>;
};
const lock = JSON.parse(readFileSync(new URL('package-lock.json', root), 'utf8')) as {
  packages: Record<string, LockEntry>;
};

const nodeRange = pkg.engines?.node;

/** The lowest Node version package.json claims to support. */
function nodeFloor(): string {
  assert.ok(nodeRange, 'package.json must declare engines.node');
  const floor = semver.minVersion(nodeRange);
  assert.ok(floor, `engines.node "${nodeRange}" admits no version`);
  return floor.version;
}

/** Installed package name of a lockfile key ("node_modules/a/node_modules/@s/b" → "@s/b"). */
function nameOf(key: string): string {
  return key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
}

test('the Node running the suite is one package.json admits', () => {
  assert.ok(semver.satisfies(process.versions.node, nodeRange ?? ''), `node ${process.versions.node} is outside engines.node "${nodeRange}"`);
});

test('the lockfile records the same engines.node as package.json (it was regenerated after the change)', () => {
  const rootEntry = lock.packages[''] as LockEntry | undefined;
  assert.deepEqual(rootEntry?.engines, pkg.engines);
});

test('every package in the lockfile admits the Node floor of package.json', () => {
  const floor = nodeFloor();
  const excluding: string[] = [];
  let checked = 0;
  for (const [key, entry] of Object.entries(lock.packages)) {
    if (key === '') continue;
    const engines = entry.engines;
    if (engines === undefined) continue;
    // npm reads only the object form ({ "node": range }); an array form
    // (very old packages) carries no constraint npm enforces.
    if (typeof engines !== 'object' || Array.isArray(engines) || engines === null) continue;
    const range = (engines as { node?: unknown }).node;
    if (typeof range !== 'string') continue;
    checked++;
    if (!semver.satisfies(floor, range)) excluding.push(`${nameOf(key)}@${entry.version ?? '?'} wants node "${range}"`);
  }
  assert.ok(checked > 0, 'no package in the lockfile declares engines.node — was the lockfile read?');
  assert.deepEqual(
    excluding,
    [],
    `these packages exclude Node ${floor} (the floor of engines.node "${nodeRange}"): pick versions that admit it ` +
      '(an `overrides` entry in package.json) or raise engines.node and the README together',
  );
});

test('every dependency with an install script is reviewed in allowScripts, and no entry is stale', () => {
  const allow = pkg.allowScripts ?? {};
  const withScripts = new Set<string>();
  for (const [key, entry] of Object.entries(lock.packages)) {
    if (key !== '' && entry.hasInstallScript === true) withScripts.add(nameOf(key));
  }
  const reviewed = new Set(Object.keys(allow).map((k) => k.replace(/(?<=.)@.*$/, '')));
  const unreviewed = [...withScripts].filter((name) => !reviewed.has(name)).sort();
  assert.deepEqual(unreviewed, [], 'approve or deny these with `npm install-scripts approve|deny <pkg>`');
  const stale = [...reviewed].filter((name) => !withScripts.has(name)).sort();
  assert.deepEqual(stale, [], 'these allowScripts entries match no installed install script: `npm install-scripts prune`');
});
