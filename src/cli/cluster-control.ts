// How `understudy cluster stop|start|ps` reach the supervisor of a running `cluster up`.
//
// The supervisor listens on a loopback HTTP port chosen by the kernel and writes where, with
// its PID and a random token, to `<data>/cluster/supervisor.json` (mode 0600). A command finds
// the cluster by its data directory (the same --data as `cluster up`), reads the file, and
// calls the port with the token: only a user who can read the cluster's data directory can
// stop its nodes, no fixed port can collide, and a file left by a supervisor that was killed
// is recognised by its PID being gone. The nodes' own admin APIs are not used for this: a
// stopped node has none, and starting a process is the supervisor's job.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ClusterSupervisor, MemberInfo } from './cluster-supervisor.ts';

/** A control request that gets no answer within this long fails (a stop waits for the process to end). */
export const CONTROL_REQUEST_TIMEOUT_MS = 20_000;

export interface SupervisorFile {
  readonly pid: number;
  readonly url: string;
  readonly token: string;
  /** Every member's ports, so that a second `cluster up` can name what is taken. */
  readonly ports: readonly number[];
}

export function supervisorFilePath(dataRoot: string): string {
  return join(resolve(dataRoot), 'cluster', 'supervisor.json');
}

/** The supervisor file of the cluster in `dataRoot`, if one is there and its process is alive. */
export function runningSupervisor(dataRoot: string): SupervisorFile | null {
  let f: SupervisorFile;
  try {
    f = JSON.parse(readFileSync(supervisorFilePath(dataRoot), 'utf8')) as SupervisorFile;
  } catch {
    return null;
  }
  if (!Number.isInteger(f.pid) || typeof f.url !== 'string' || typeof f.token !== 'string') return null;
  try {
    process.kill(f.pid, 0);
  } catch (e) {
    // EPERM: alive, but someone else's process.
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return null;
  }
  return f;
}

/** How long `cluster up` waits for an existing supervisor file's process to answer before calling the file stale. */
export const SUPERVISOR_PING_TIMEOUT_MS = 2000;

/**
 * The supervisor of the cluster in `dataRoot` if it is really running: its file is there, its
 * PID alive, and its control port answers to its token (a PID alone may have been reused since
 * a supervisor was killed and left its file behind).
 */
export async function answeringSupervisor(dataRoot: string): Promise<SupervisorFile | null> {
  const f = runningSupervisor(dataRoot);
  if (!f) return null;
  try {
    const res = await fetch(`${f.url}/members`, { headers: { authorization: `Bearer ${f.token}` }, signal: AbortSignal.timeout(SUPERVISOR_PING_TIMEOUT_MS) });
    await res.arrayBuffer();
    return res.ok ? f : null;
  } catch {
    return null;
  }
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** Starts the control endpoint and writes the supervisor file; close() removes both. */
export async function startControl(sup: ClusterSupervisor, dataRoot: string, ports: readonly number[]): Promise<{ close(): Promise<void> }> {
  const token = randomBytes(24).toString('hex');
  const expected = Buffer.from(`Bearer ${token}`);
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const auth = Buffer.from(req.headers.authorization ?? '');
    if (auth.length !== expected.length || !timingSafeEqual(auth, expected)) return reply(res, 401, { error: 'wrong or missing token' });
    const url = new URL(req.url ?? '/', 'http://control');
    if (req.method === 'GET' && url.pathname === '/members') return reply(res, 200, { members: sup.list() });
    const m = /^\/members\/([^/]+)\/(stop|start)$/.exec(url.pathname);
    if (req.method !== 'POST' || !m) return reply(res, 404, { error: `no such request: ${req.method} ${url.pathname}` });
    const id = decodeURIComponent(m[1]!);
    if (!sup.has(id)) return reply(res, 404, { error: `no member "${id}" (members: ${sup.list().map((x) => x.id).join(', ')})` });
    try {
      const member: MemberInfo = m[2] === 'stop' ? await sup.stop(id, url.searchParams.get('kill') === '1') : sup.start(id);
      reply(res, 200, { member });
    } catch (e) {
      reply(res, 409, { error: (e as Error).message });
    }
  };
  const server: Server = createServer((req, res) => {
    req.resume();
    handle(req, res).catch((e: unknown) => reply(res, 500, { error: String(e) }));
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => ok());
  });
  const port = (server.address() as { port: number }).port;
  const file = supervisorFilePath(dataRoot);
  const content: SupervisorFile = { pid: process.pid, url: `http://127.0.0.1:${port}`, token, ports };
  writeFileSync(file, JSON.stringify(content, null, 2) + '\n', { mode: 0o600 });
  return {
    close: () =>
      new Promise<void>((ok) => {
        rmSync(file, { force: true });
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}

/** One request to the supervisor of the cluster in `dataRoot`. */
export async function controlRequest(dataRoot: string, method: 'GET' | 'POST', path: string): Promise<{ status: number; body: { members?: MemberInfo[]; member?: MemberInfo; error?: string } }> {
  const f = runningSupervisor(dataRoot);
  if (!f) throw new Error(`no running cluster in ${resolve(dataRoot)} (no live supervisor in ${supervisorFilePath(dataRoot)}); start one with: understudy cluster up --data ${dataRoot}`);
  let res: Response;
  try {
    res = await fetch(`${f.url}${path}`, { method, headers: { authorization: `Bearer ${f.token}` }, signal: AbortSignal.timeout(CONTROL_REQUEST_TIMEOUT_MS) });
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
    throw new Error(`the supervisor named in ${supervisorFilePath(dataRoot)} (pid ${f.pid}) does not answer at ${f.url} (${cause}); if it was killed, that file is stale and \`cluster up\` will replace it`);
  }
  return { status: res.status, body: (await res.json()) as { members?: MemberInfo[]; member?: MemberInfo; error?: string } };
}

function describe(m: MemberInfo): string {
  return `${m.id.padEnd(4)} ${m.state.padEnd(15)} pid ${String(m.pid ?? '-').padEnd(8)} restarts ${m.restarts}${m.lastExit !== null ? `  last exit: ${m.lastExit}` : ''}`;
}

/** `understudy cluster stop|start|ps`: prints the result; resolves with the exit code. */
export async function runClusterCommand(
  action: 'stop' | 'start' | 'ps',
  o: { data: string; id?: string; kill?: boolean },
  io: { out: NodeJS.WritableStream; err: NodeJS.WritableStream },
): Promise<number> {
  let r: Awaited<ReturnType<typeof controlRequest>>;
  try {
    if (action === 'ps') r = await controlRequest(o.data, 'GET', '/members');
    else r = await controlRequest(o.data, 'POST', `/members/${encodeURIComponent(o.id ?? '')}/${action}${action === 'stop' && o.kill ? '?kill=1' : ''}`);
  } catch (e) {
    io.err.write(`understudy cluster ${action}: ${(e as Error).message}\n`);
    return 2;
  }
  if (r.status !== 200) {
    io.err.write(`understudy cluster ${action}: ${r.body.error ?? `HTTP ${r.status}`}\n`);
    return 1;
  }
  for (const m of r.body.members ?? [r.body.member!]) io.out.write(describe(m) + '\n');
  return 0;
}
