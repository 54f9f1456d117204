// The deployment files (Dockerfile, systemd unit, Kubernetes manifests) agree with the code: the
// configuration shipped in the ConfigMap is one the loader accepts for every member, the ports
// the containers, probes, stop hooks and health check use are the ports of the member addresses,
// and the commands they run are commands the CLI has. (No Docker engine or Kubernetes cluster
// runs on the test machine; docs/deployment.md says what was run where.)
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../../src/config/load.ts';
import { splitAddr } from '../../src/server/resp-info.ts';
import { runCli } from '../../src/cli/program.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const read = (p: string): string => readFileSync(join(ROOT, p), 'utf8');
const K8S = read('deploy/kubernetes/understudy.yaml');
const DOCKERFILE = read('Dockerfile');
const UNIT = read('deploy/systemd/understudy@.service');

/** The JSON block of the ConfigMap (a YAML literal block, indented four spaces). */
function configMapJson(): string {
  const lines = K8S.split('\n');
  const start = lines.findIndex((l) => l.trim() === 'understudy.json: |');
  assert.ok(start >= 0, 'the ConfigMap holds understudy.json');
  const body: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (l.trim() !== '' && !l.startsWith('    ')) break;
    body.push(l.slice(4));
  }
  return body.join('\n');
}

async function cli(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const sink = { write: (s: string) => ((out += s), true) } as unknown as NodeJS.WritableStream;
  const code = await runCli(args, { out: sink, err: sink });
  return { code, out };
}

test('the ConfigMap\'s configuration loads for every member of the StatefulSet, with the env the pods get', () => {
  const dir = mkdtempSync(join(tmpdir(), 'understudy-deploy-'));
  try {
    const file = join(dir, 'understudy.json');
    writeFileSync(file, configMapJson());
    const replicas = Number(/replicas: (\d+)/.exec(K8S)![1]);
    for (let i = 0; i < replicas; i++) {
      const env = { UNDERSTUDY_NODE_ID: `understudy-${i}`, UNDERSTUDY_CLUSTER_SECRET: 'f'.repeat(32), UNDERSTUDY_DATA_DIR: '/var/lib/understudy', UNDERSTUDY_LISTEN_HOST: '0.0.0.0' };
      const c = loadConfig({ file, env, overrides: {} });
      assert.equal(c.nodeId, `understudy-${i}`);
      assert.equal(c.members.length, replicas);
      assert.equal(c.listenHost, '0.0.0.0');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('containers, Services, probes, the stop hooks and the health check use the member addresses\' ports', () => {
  const m = (JSON.parse(configMapJson()) as { members: Array<Record<string, string>> }).members[0]!;
  const port = (k: string): number => splitAddr(m[k]!)!.port;
  const ports = { redis: port('redisAddr'), peer: port('peerAddr'), sentinel: port('sentinelAddr'), admin: port('adminAddr') };
  for (const [name, p] of Object.entries(ports)) {
    assert.match(K8S, new RegExp(`\\{ name: ${name}, containerPort: ${p} \\}`), `containerPort ${name}`);
    assert.match(K8S, new RegExp(`\\{ name: ${name}, port: ${p} \\}`), `headless Service port ${name}`);
  }
  assert.match(K8S, /httpGet: \{ path: \/readyz, port: admin \}/);
  assert.match(K8S, /httpGet: \{ path: \/healthz, port: admin \}/);
  assert.ok(K8S.includes(`"switchover", "--if-primary", "--admin", "http://127.0.0.1:${ports.admin}"`), 'preStop hands over through this pod\'s admin port');
  assert.equal(/^EXPOSE (.*)$/m.exec(DOCKERFILE)![1]!.split(' ').map(Number).sort().join(' '), Object.values(ports).sort().join(' '));
  assert.ok(DOCKERFILE.includes(`http://127.0.0.1:${ports.admin}/readyz`), 'the health check asks /readyz on the admin port');
  assert.match(K8S, /runAsUser: 999/);
  assert.match(DOCKERFILE, /--uid 999/);
});

test('the commands the deployment files run are commands the CLI has', async () => {
  const exec = /^ExecStart=\S+ \S+ (.*)$/m.exec(UNIT)![1]!.split(' ');
  const stop = /^ExecStop=-\S+ \S+ (.*)$/m.exec(UNIT)![1]!.split(' ');
  for (const args of [exec, stop, ['switchover', '--if-primary', '--admin', 'http://127.0.0.1:7301'], ['start']]) {
    const sub = args.filter((a) => !a.startsWith('--') && !a.startsWith('/') && !a.startsWith('http'));
    const help = await cli([...sub, '--help']);
    assert.equal(help.code, 0, `${sub.join(' ')} --help`);
    for (const flag of args.filter((a) => a.startsWith('--'))) assert.ok(help.out.includes(flag), `${sub.join(' ')} has ${flag}`);
  }
  assert.match(DOCKERFILE, /^ENTRYPOINT \["node", "\/opt\/understudy\/bin\/understudy\.mjs"\]$/m);
  assert.match(DOCKERFILE, /^COPY --from=build \/src\/dist \.\/dist$/m);
});
