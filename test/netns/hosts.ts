// Separate hosts on one machine: each a network namespace of its own with its own address on a
// bridge (ip netns + veth + a bridge, from iproute2), created here and removed by close(). The
// test process stays in the machine's own namespace and reaches every host through the bridge,
// as a client on another machine would. Names carry a random suffix so that concurrent test
// files never share a bridge, a namespace or a subnet.
import { execFileSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import type { SeparateHosts } from '../integration/harness.ts';

/** The address the test process has on the bridge (the hosts are .1, .2, …). */
const BRIDGE_HOST = 254;

function ip(...args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Hosts not closed yet: removed on the way out if the test process ends early. */
const live = new Set<NetnsHosts>();
process.once('exit', () => {
  for (const h of [...live]) h.close();
});

export class NetnsHosts implements SeparateHosts {
  private readonly made: { namespaces: string[]; links: string[] } = { namespaces: [], links: [] };

  private constructor(
    readonly count: number,
    /** e.g. "10.213.7": host i is <prefix>.<i+1>. */
    private readonly prefix: string,
    private readonly tag: string,
  ) {}

  /** Makes `count` hosts on a new bridge; on any failure removes what it made and throws. */
  static create(count: number): NetnsHosts {
    const tag = randomBytes(3).toString('hex');
    const h = new NetnsHosts(count, `10.${randomInt(100, 250)}.${randomInt(1, 250)}`, tag);
    live.add(h);
    try {
      h.build();
    } catch (e) {
      h.close();
      throw new Error(`cannot make network namespaces (needs root and iproute2): ${(e as Error).message}`);
    }
    return h;
  }

  private get bridge(): string {
    return `usbr${this.tag}`;
  }

  namespace(i: number): string {
    return `us${this.tag}h${i + 1}`;
  }

  addressOf(i: number): string {
    return `${this.prefix}.${i + 1}`;
  }

  /** The address the test process has on the hosts' network. */
  get clientAddress(): string {
    return `${this.prefix}.${BRIDGE_HOST}`;
  }

  command(i: number, argv: readonly string[]): string[] {
    return ['ip', 'netns', 'exec', this.namespace(i), ...argv];
  }

  private build(): void {
    ip('link', 'add', this.bridge, 'type', 'bridge');
    this.made.links.push(this.bridge);
    ip('addr', 'add', `${this.clientAddress}/24`, 'dev', this.bridge);
    ip('link', 'set', this.bridge, 'up');
    for (let i = 0; i < this.count; i++) {
      const ns = this.namespace(i);
      const outside = `usv${this.tag}${i + 1}`;
      ip('netns', 'add', ns);
      this.made.namespaces.push(ns);
      ip('link', 'add', outside, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      this.made.links.push(outside);
      ip('link', 'set', outside, 'master', this.bridge);
      ip('link', 'set', outside, 'up');
      ip('-n', ns, 'addr', 'add', `${this.addressOf(i)}/24`, 'dev', 'eth0');
      ip('-n', ns, 'link', 'set', 'eth0', 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
  }

  /** The bridge's end of host i's veth (in the machine's own namespace). */
  veth(i: number): string {
    return `usv${this.tag}${i + 1}`;
  }

  /** Cuts host i off the network (its link down) or brings it back. */
  setLink(i: number, up: boolean): void {
    ip('link', 'set', this.veth(i), up ? 'up' : 'down');
  }

  /** Removes every namespace and link this made (a namespace's end of a veth goes with it). */
  close(): void {
    live.delete(this);
    for (const ns of this.made.namespaces.splice(0)) {
      try {
        ip('netns', 'del', ns);
      } catch {
        // Already gone.
      }
    }
    for (const l of this.made.links.splice(0).reverse()) {
      try {
        ip('link', 'del', l);
      } catch {
        // Went with its namespace.
      }
    }
  }
}
