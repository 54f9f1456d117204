// The Network port over real TCP (node:net): how nodes exchange protocol
// messages in production.
//
// Connections. Exactly one persistent TCP connection per pair of nodes: the
// node whose id sorts lower (JavaScript string order) dials, the higher one
// only accepts. The rule is deterministic on both sides, so there is never a
// race between two connections for one pair. When the connection breaks, the
// dialer reconnects with exponential backoff and jitter; the acceptor waits.
// An accepted authenticated connection from a peer replaces any older one
// from that peer (the peer restarted and the old socket is a dead half).
//
// Handshake (every frame length + CRC32C framed, at most
// HANDSHAKE_MAX_FRAME_BYTES until authenticated):
//   dialer   → acceptor  HELLO     wire version, cluster name, dialer id, acceptor id, nonceD
//   acceptor → dialer    CHALLENGE wire version, cluster name, acceptor id, nonceA,
//                                  proofA = HMAC(secret, "acceptor" | cluster | ids | nonceD | nonceA)
//   dialer   → acceptor  PROOF     proofD = HMAC(secret, "dialer"   | cluster | ids | nonceD | nonceA)
//   acceptor → dialer    WELCOME
// Either side may instead send REJECT(reason) and close. Both sides prove they
// know the shared cluster secret, which never travels; fresh nonces from both
// sides stop replays, and the role label stops a proof being reflected back.
//
// Sending. send() encodes the message straight into a frame and appends it to
// the peer's bounded outbound queue; once per event-loop turn the queue is
// written with ONE socket write (frames concatenated), with TCP_NODELAY so the
// batch leaves at once. While a peer is down, messages to it are dropped: the
// protocol tolerates loss and retransmits what matters.
//
// Failures. Garbage bytes, an unknown peer, a wrong secret, a frame over the
// limit or a message that fails to decode close THAT connection with a logged
// reason; the node and its other connections carry on.
import net from 'node:net';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Message } from '../core/messages.ts';
import type { NodeId } from '../core/types.ts';
import type { Network, PeerConnectionState } from '../ports/network.ts';
import { FRAME_HEADER_BYTES, FrameDecoder, MAX_FRAME_BYTES, encodeFrame, writeFrameHeader } from '../codec/frame.ts';
import { decodeMessage, messageSize, writeMessage } from '../codec/message-codec.ts';
import { ByteReader, ByteWriter, MAX_NODE_ID_BYTES } from '../codec/update-codec.ts';
import { UnderstudyError, isUnderstudyError } from '../errors.ts';

/** Version of the peer handshake and framing; both sides must speak the same. */
export const PEER_WIRE_VERSION = 1;
/** Largest frame before authentication: an unauthenticated stranger cannot make us buffer more. */
export const HANDSHAKE_MAX_FRAME_BYTES = 1024;
/** A connection that has not finished the handshake by then is closed (stops half-open hoarding). */
export const HANDSHAKE_TIMEOUT_MS = 3000;
/** Unauthenticated inbound connections held at once; more are refused at accept. */
export const MAX_PENDING_HANDSHAKES = 64;
/** First reconnect delay; the heartbeat interval is 50 ms, so a broken link comes back quickly. */
export const RECONNECT_MIN_MS = 20;
/** Reconnect delay ceiling: a peer down for long is retried about once a second. */
export const RECONNECT_MAX_MS = 1000;
/** Frames queued per peer before new messages are dropped (bounds memory while a peer is slow). */
export const OUTBOUND_QUEUE_MAX_MESSAGES = 100_000;
/** Bytes queued per peer before new messages are dropped. */
export const OUTBOUND_QUEUE_MAX_BYTES = 128 * 1024 * 1024;
/** Bytes concatenated into one socket write; more waits for the next turn (bounds the copy). */
export const WRITE_BATCH_MAX_BYTES = 4 * 1024 * 1024;
/** TCP keepalive clears dead half-open sockets that heartbeats alone would not close. */
export const KEEPALIVE_INITIAL_DELAY_MS = 5000;
/** A rejected connection is destroyed this long after the REJECT is sent, if the peer lingers. */
export const REJECT_LINGER_MS = 500;
/** A shorter secret is too easy to guess offline from a captured handshake. */
export const MIN_SECRET_BYTES = 16;
const NONCE_BYTES = 32;
const PROOF_BYTES = 32;
const MAX_REJECT_REASON_BYTES = 200;

const HS_HELLO = 0xf0;
const HS_CHALLENGE = 0xf1;
const HS_PROOF = 0xf2;
const HS_WELCOME = 0xf3;
const HS_REJECT = 0xf4;

/** The subset of a pino logger the transport uses. */
export interface PeerLogger {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  /** Expected start-up retries (a peer not yet up); dropped when absent. */
  debug?(obj: object, msg: string): void;
}

export interface PeerTransportOptions {
  /** This node's id. */
  readonly self: NodeId;
  readonly listenHost: string;
  /** 0 picks a free port (see listen's callback). */
  readonly listenPort: number;
  /** Every other member: id → "host:port" (an entry for self is ignored). */
  readonly peers: Readonly<Record<NodeId, string>>;
  /** Shared cluster secret; proves membership, never sent. */
  readonly secret: string | Buffer;
  /** Nodes of different clusters refuse each other even with the same secret. */
  readonly clusterName: string;
  readonly logger: PeerLogger;
  /** Largest accepted message frame; default MAX_FRAME_BYTES. */
  readonly maxFrameBytes?: number;
  readonly outboundQueueMaxMessages?: number;
  readonly outboundQueueMaxBytes?: number;
  readonly reconnectMinMs?: number;
  readonly reconnectMaxMs?: number;
  readonly handshakeTimeoutMs?: number;
}

/** Counters per peer, for status and metrics. */
export interface PeerStats {
  readonly state: PeerConnectionState;
  readonly sentMessages: number;
  readonly receivedMessages: number;
  readonly droppedMessages: number;
  readonly queuedMessages: number;
  readonly queuedBytes: number;
  readonly connects: number;
}

function configError(msg: string): UnderstudyError {
  return new UnderstudyError('CONFIG_INVALID', msg);
}

function parseHostPort(id: NodeId, addr: string): { host: string; port: number } {
  const at = addr.lastIndexOf(':');
  const port = Number(addr.slice(at + 1));
  let host = addr.slice(0, at);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (at <= 0 || host === '' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw configError(`peer ${id}: address ${JSON.stringify(addr)} is not host:port`);
  }
  return { host, port };
}

function checkName(what: string, s: string): void {
  const n = Buffer.byteLength(s, 'utf8');
  if (n < 1 || n > MAX_NODE_ID_BYTES) throw configError(`${what} ${JSON.stringify(s)} must be 1..${MAX_NODE_ID_BYTES} bytes`);
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * The handshake proof: HMAC-SHA256 keyed by the secret over everything both sides contributed,
 * labelled with the prover's role. Strings are u16-LE length prefixed so no two inputs collide.
 */
export function peerAuthProof(secret: Buffer, role: 'dialer' | 'acceptor', cluster: string, dialer: NodeId, acceptor: NodeId, nonceD: Buffer, nonceA: Buffer): Buffer {
  const h = createHmac('sha256', secret);
  const field = (s: string): void => {
    const b = Buffer.from(s, 'utf8');
    const len = Buffer.allocUnsafe(2);
    len.writeUInt16LE(b.length);
    h.update(len);
    h.update(b);
  };
  field(`understudy peer auth v${PEER_WIRE_VERSION}`);
  field(role);
  field(cluster);
  field(dialer);
  field(acceptor);
  h.update(nonceD);
  h.update(nonceA);
  return h.digest();
}

function sameProof(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

type Phase = 'connecting' | 'await-hello' | 'await-challenge' | 'await-proof' | 'await-welcome' | 'open' | 'closed';

/** One TCP connection, inbound or outbound, through its handshake and life. */
class Conn {
  phase: Phase;
  /** Expected (outbound) or claimed-then-verified (inbound) peer id. */
  peer: NodeId | undefined;
  readonly decoder = new FrameDecoder(HANDSHAKE_MAX_FRAME_BYTES);
  private nonceD: Buffer | undefined;
  private nonceA: Buffer | undefined;
  private handshakeTimer: NodeJS.Timeout | undefined;
  readonly remote: string;

  constructor(
    private readonly t: PeerTransport,
    readonly socket: net.Socket,
    readonly outbound: boolean,
    expectedPeer: NodeId | undefined,
    remote: string,
  ) {
    this.peer = expectedPeer;
    this.phase = outbound ? 'connecting' : 'await-hello';
    this.remote = remote;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEPALIVE_INITIAL_DELAY_MS);
    this.handshakeTimer = setTimeout(() => this.abort('PEER_AUTH_FAILED', `handshake not finished within ${t.handshakeTimeoutMs} ms (handshakeTimeoutMs)`, false, t.startingUp(this.peer)), t.handshakeTimeoutMs);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e: Error) => this.onSocketError(e));
    socket.on('close', () => this.onClose());
    if (outbound) socket.on('connect', () => this.sendHello());
  }

  get where(): Record<string, unknown> {
    return { self: this.t.self, peer: this.peer, remote: this.remote, outbound: this.outbound };
  }

  private sendFrame(payload: Buffer): void {
    this.socket.write(encodeFrame(payload, HANDSHAKE_MAX_FRAME_BYTES));
  }

  private sendHello(): void {
    if (this.phase !== 'connecting') return;
    const peer = this.peer!;
    this.nonceD = randomBytes(NONCE_BYTES);
    const w = new ByteWriter(Buffer.allocUnsafe(2 + (1 + Buffer.byteLength(this.t.clusterName)) + (1 + Buffer.byteLength(this.t.self)) + (1 + Buffer.byteLength(peer)) + NONCE_BYTES));
    w.u8(HS_HELLO);
    w.u8(PEER_WIRE_VERSION);
    w.nodeId(this.t.clusterName);
    w.nodeId(this.t.self);
    w.nodeId(peer);
    w.raw(this.nonceD);
    this.sendFrame(w.done());
    this.phase = 'await-challenge';
  }

  private onData(chunk: Buffer): void {
    if (this.phase === 'closed') return;
    try {
      this.decoder.push(chunk);
    } catch (e) {
      this.abort(isUnderstudyError(e) ? e.code : 'FRAME_CORRUPT', errText(e));
      return;
    }
    // One payload at a time: the frame limit rises only once the handshake completes.
    // Bounded by the bytes buffered: every turn consumes a frame or returns.
    for (;;) {
      // Handling a frame may close this connection (or the handler may close the transport).
      if ((this.phase as Phase) === 'closed') return;
      let payload: Buffer | undefined;
      try {
        payload = this.decoder.next();
      } catch (e) {
        this.abort(isUnderstudyError(e) ? e.code : 'FRAME_CORRUPT', errText(e));
        return;
      }
      if (payload === undefined) return;
      if (this.phase === 'open') {
        let msg: Message;
        try {
          msg = decodeMessage(payload);
        } catch (e) {
          this.abort(isUnderstudyError(e) ? e.code : 'FRAME_CORRUPT', `undecodable message: ${errText(e)}`);
          return;
        }
        // Outside the try: an exception in the node's handler is a bug in the node, not a
        // bad peer, and must not be mistaken for one.
        this.t.deliver(this.peer!, msg);
      } else {
        try {
          this.onHandshake(payload);
        } catch (e) {
          this.abort(isUnderstudyError(e) ? e.code : 'FRAME_CORRUPT', `bad handshake frame: ${errText(e)}`);
          return;
        }
      }
    }
  }

  private onHandshake(p: Buffer): void {
    const r = new ByteReader(p, 'peer handshake');
    const type = r.u8('type');
    if (type === HS_REJECT) {
      const reason = r.bytes('reason').toString('utf8');
      this.abort('PEER_AUTH_FAILED', `the peer refused the connection: ${reason}`, false);
      return;
    }
    switch (this.phase) {
      case 'await-hello': {
        if (type !== HS_HELLO) r.fail('type', `expected HELLO (${HS_HELLO}), got ${type}`);
        const version = r.u8('version');
        const cluster = r.nodeId('cluster');
        const from = r.nodeId('from');
        const to = r.nodeId('to');
        const nonceD = r.raw('nonce', NONCE_BYTES);
        r.finish();
        this.peer = from;
        if (version !== PEER_WIRE_VERSION) return this.reject('PEER_AUTH_FAILED', `wire version ${version}, this node speaks ${PEER_WIRE_VERSION}`);
        if (cluster !== this.t.clusterName) return this.reject('PEER_AUTH_FAILED', `cluster name ${JSON.stringify(cluster)} is not ${JSON.stringify(this.t.clusterName)}`);
        if (to !== this.t.self) return this.reject('PEER_UNKNOWN', `addressed to ${JSON.stringify(to)} but this node is ${JSON.stringify(this.t.self)}`);
        if (!this.t.isPeer(from)) return this.reject('PEER_UNKNOWN', `unknown peer id ${JSON.stringify(from)} (not in this node's peers)`);
        if (!(from < this.t.self)) return this.reject('PEER_UNKNOWN', `peer ${JSON.stringify(from)} must not dial ${JSON.stringify(this.t.self)}: the lower id dials`);
        this.nonceD = nonceD;
        this.nonceA = randomBytes(NONCE_BYTES);
        const proofA = peerAuthProof(this.t.secret, 'acceptor', cluster, from, this.t.self, nonceD, this.nonceA);
        const w = new ByteWriter(Buffer.allocUnsafe(2 + 1 + Buffer.byteLength(cluster) + 1 + Buffer.byteLength(this.t.self) + NONCE_BYTES + PROOF_BYTES));
        w.u8(HS_CHALLENGE);
        w.u8(PEER_WIRE_VERSION);
        w.nodeId(cluster);
        w.nodeId(this.t.self);
        w.raw(this.nonceA);
        w.raw(proofA);
        this.sendFrame(w.done());
        this.phase = 'await-proof';
        this.t.linkOf(from)?.inboundHandshakeStarted();
        return;
      }
      case 'await-challenge': {
        if (type !== HS_CHALLENGE) r.fail('type', `expected CHALLENGE (${HS_CHALLENGE}), got ${type}`);
        const version = r.u8('version');
        const cluster = r.nodeId('cluster');
        const from = r.nodeId('from');
        const nonceA = r.raw('nonce', NONCE_BYTES);
        const proofA = r.raw('proof', PROOF_BYTES);
        r.finish();
        if (version !== PEER_WIRE_VERSION) return this.reject('PEER_AUTH_FAILED', `wire version ${version}, this node speaks ${PEER_WIRE_VERSION}`);
        if (cluster !== this.t.clusterName) return this.reject('PEER_AUTH_FAILED', `cluster name ${JSON.stringify(cluster)} is not ${JSON.stringify(this.t.clusterName)}`);
        if (from !== this.peer) return this.reject('PEER_UNKNOWN', `expected peer ${JSON.stringify(this.peer)} at this address, found ${JSON.stringify(from)}`);
        const peer = this.peer;
        if (!sameProof(proofA, peerAuthProof(this.t.secret, 'acceptor', cluster, this.t.self, peer, this.nonceD!, nonceA))) {
          return this.reject('PEER_AUTH_FAILED', `peer ${peer} failed to prove the cluster secret (the secrets differ)`);
        }
        const proofD = peerAuthProof(this.t.secret, 'dialer', cluster, this.t.self, peer, this.nonceD!, nonceA);
        const w = new ByteWriter(Buffer.allocUnsafe(1 + PROOF_BYTES));
        w.u8(HS_PROOF);
        w.raw(proofD);
        this.sendFrame(w.done());
        this.phase = 'await-welcome';
        return;
      }
      case 'await-proof': {
        if (type !== HS_PROOF) r.fail('type', `expected PROOF (${HS_PROOF}), got ${type}`);
        const proofD = r.raw('proof', PROOF_BYTES);
        r.finish();
        const peer = this.peer!;
        if (!sameProof(proofD, peerAuthProof(this.t.secret, 'dialer', this.t.clusterName, peer, this.t.self, this.nonceD!, this.nonceA!))) {
          return this.reject('PEER_AUTH_FAILED', `peer ${peer} failed to prove the cluster secret (the secrets differ)`);
        }
        this.sendFrame(Buffer.from([HS_WELCOME]));
        this.open();
        return;
      }
      case 'await-welcome': {
        if (type !== HS_WELCOME) r.fail('type', `expected WELCOME (${HS_WELCOME}), got ${type}`);
        r.finish();
        this.open();
        return;
      }
      case 'connecting':
      case 'open':
      case 'closed':
        r.fail('type', `unexpected handshake frame ${type} in phase ${this.phase}`);
    }
  }

  private open(): void {
    clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
    this.phase = 'open';
    this.decoder.maxFrameBytes = this.t.maxFrameBytes;
    this.t.opened(this);
  }

  /** Tells the peer why (so both sides log a reason), then closes. */
  private reject(code: string, reason: string): void {
    const b = Buffer.from(reason, 'utf8').subarray(0, MAX_REJECT_REASON_BYTES);
    const w = new ByteWriter(Buffer.allocUnsafe(1 + 1 + b.length));
    w.u8(HS_REJECT);
    w.bytes(b);
    this.sendFrame(w.done());
    this.abort(code, reason, true);
  }

  /**
   * Closes this connection with a logged reason. `linger` lets a REJECT reach the peer first.
   * `expected`: a start-up retry (see PeerTransport.startingUp), logged at debug.
   */
  abort(code: string, reason: string, linger = false, expected = false): void {
    if (this.phase === 'closed') return;
    if (expected) this.t.logger.debug?.({ ...this.where, code }, `closing peer connection: ${reason} (the peer is probably still starting; retrying)`);
    else this.t.logger.warn({ ...this.where, code }, `closing peer connection: ${reason}`);
    this.closeNow(linger);
  }

  closeNow(linger = false): void {
    if (this.phase === 'closed') return;
    const wasOpen = this.phase === 'open';
    const wasInboundHandshake = !this.outbound && this.phase === 'await-proof';
    this.phase = 'closed';
    clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
    if (linger) {
      this.socket.end();
      this.t.linger(this.socket);
    } else {
      this.socket.destroy();
    }
    this.t.closed(this, wasOpen, wasInboundHandshake);
  }

  private onSocketError(e: Error): void {
    if (this.phase === 'closed') return;
    const code = (e as NodeJS.ErrnoException).code;
    // Refused / reset while dialing is ordinary when the peer is down: reported once per outage by the link.
    if (this.outbound && this.phase === 'connecting') {
      this.t.dialFailed(this, `${code ?? ''} ${e.message}`.trim());
      this.closeNow();
      return;
    }
    this.t.logger.info({ ...this.where, code }, `peer connection error: ${e.message}`);
    this.closeNow();
  }

  private onClose(): void {
    if (this.phase === 'closed') return;
    if (this.phase !== 'open') {
      this.t.logger.info(this.where, `peer connection closed during the handshake (phase ${this.phase})`);
    } else {
      this.t.logger.info(this.where, 'peer connection closed by the peer');
    }
    this.closeNow();
  }
}

/** Per-peer state: the connection, the outbound queue and reconnect backoff. */
class PeerLink {
  conn: Conn | null = null;
  /** Outbound connection being dialed / handshaking (dialer side only). */
  dialing: Conn | null = null;
  /** Inbound connections from this peer past HELLO, not yet authenticated (acceptor side). */
  inboundHandshakes = 0;
  queue: Buffer[] = [];
  queuedBytes = 0;
  backoffMs: number;
  retryTimer: NodeJS.Timeout | undefined;
  /** Whether the current outage has been logged (dial failures repeat every backoff). */
  outageLogged = false;
  /** Whether queue overflow has been logged since the queue last drained. */
  overflowLogged = false;
  /** A 'drain' listener is installed on the current connection's socket. */
  awaitingDrain = false;
  sentMessages = 0;
  receivedMessages = 0;
  droppedMessages = 0;
  connects = 0;

  constructor(
    readonly id: NodeId,
    readonly host: string,
    readonly port: number,
    /** True when this node dials the peer (self < id). */
    readonly weDial: boolean,
    minMs: number,
  ) {
    this.backoffMs = minMs;
  }

  get state(): PeerConnectionState {
    if (this.conn) return 'connected';
    if (this.dialing || this.inboundHandshakes > 0) return 'connecting';
    return 'down';
  }

  inboundHandshakeStarted(): void {
    this.inboundHandshakes++;
  }

  dropQueue(): void {
    this.droppedMessages += this.queue.length;
    this.queue = [];
    this.queuedBytes = 0;
  }
}

/** The Network port over TCP. Call listen() once, then send; close() when done. */
export class PeerTransport implements Network {
  readonly self: NodeId;
  readonly clusterName: string;
  readonly secret: Buffer;
  readonly logger: PeerLogger;
  readonly maxFrameBytes: number;
  readonly handshakeTimeoutMs: number;
  private readonly listenHost: string;
  private readonly listenPort: number;
  private readonly queueMaxMessages: number;
  private readonly queueMaxBytes: number;
  private readonly reconnectMinMs: number;
  private readonly reconnectMaxMs: number;
  private readonly links = new Map<NodeId, PeerLink>();
  private readonly conns = new Set<Conn>();
  /** Rejected sockets given a moment to deliver the REJECT; destroyed by close() at the latest. */
  private readonly lingering = new Set<net.Socket>();
  private pendingInbound = 0;
  private server: net.Server | null = null;
  private handler: ((from: NodeId, msg: Message) => void) | null = null;
  private flushScheduled = false;
  private isClosed = false;
  private readonly unknownWarned = new Set<NodeId>();

  constructor(opts: PeerTransportOptions) {
    checkName('node id', opts.self);
    checkName('cluster name', opts.clusterName);
    this.self = opts.self;
    this.clusterName = opts.clusterName;
    this.secret = Buffer.isBuffer(opts.secret) ? Buffer.from(opts.secret) : Buffer.from(opts.secret, 'utf8');
    if (this.secret.length < MIN_SECRET_BYTES) throw configError(`the cluster secret must be at least ${MIN_SECRET_BYTES} bytes (MIN_SECRET_BYTES), got ${this.secret.length}`);
    this.logger = opts.logger;
    this.maxFrameBytes = opts.maxFrameBytes ?? MAX_FRAME_BYTES;
    if (!(Number.isInteger(this.maxFrameBytes) && this.maxFrameBytes >= HANDSHAKE_MAX_FRAME_BYTES && this.maxFrameBytes <= 0xffff_ffff)) {
      throw configError(`maxFrameBytes must be an integer in ${HANDSHAKE_MAX_FRAME_BYTES}..${0xffff_ffff}, got ${this.maxFrameBytes}`);
    }
    this.handshakeTimeoutMs = opts.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS;
    this.queueMaxMessages = opts.outboundQueueMaxMessages ?? OUTBOUND_QUEUE_MAX_MESSAGES;
    this.queueMaxBytes = opts.outboundQueueMaxBytes ?? OUTBOUND_QUEUE_MAX_BYTES;
    this.reconnectMinMs = opts.reconnectMinMs ?? RECONNECT_MIN_MS;
    this.reconnectMaxMs = opts.reconnectMaxMs ?? RECONNECT_MAX_MS;
    if (!(this.reconnectMinMs > 0 && this.reconnectMinMs <= this.reconnectMaxMs)) {
      throw configError(`reconnect delays must satisfy 0 < reconnectMinMs (${this.reconnectMinMs}) <= reconnectMaxMs (${this.reconnectMaxMs})`);
    }
    this.listenHost = opts.listenHost;
    this.listenPort = opts.listenPort;
    for (const [id, addr] of Object.entries(opts.peers)) {
      if (id === this.self) continue;
      checkName('peer id', id);
      const { host, port } = parseHostPort(id, addr);
      this.links.set(id, new PeerLink(id, host, port, this.self < id, this.reconnectMinMs));
    }
  }

  /** Starts accepting and dialing; calls back with the bound address (useful with port 0). */
  listen(cb: (err: Error | null, addr?: { host: string; port: number }) => void): void {
    if (this.server || this.isClosed) {
      cb(new Error('PeerTransport.listen called twice or after close'));
      return;
    }
    const server = net.createServer((s) => this.accept(s));
    this.server = server;
    const onError = (e: Error): void => {
      server.off('listening', onListening);
      cb(e);
    };
    const onListening = (): void => {
      server.off('error', onError);
      server.on('error', (e) => this.logger.warn({ self: this.self, err: e.message }, 'peer listener error'));
      const a = server.address() as net.AddressInfo;
      this.logger.info({ self: this.self, host: a.address, port: a.port, cluster: this.clusterName }, 'peer transport listening');
      for (const link of this.links.values()) if (link.weDial) this.dial(link);
      cb(null, { host: a.address, port: a.port });
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host: this.listenHost, port: this.listenPort });
  }

  onMessage(handler: (from: NodeId, msg: Message) => void): void {
    this.handler = handler;
  }

  peerState(peer: NodeId): PeerConnectionState {
    return this.links.get(peer)?.state ?? 'down';
  }

  queuedBytes(peer: NodeId): number {
    return this.links.get(peer)?.queuedBytes ?? 0;
  }

  peerStats(peer: NodeId): PeerStats | undefined {
    const l = this.links.get(peer);
    if (!l) return undefined;
    return {
      state: l.state,
      sentMessages: l.sentMessages,
      receivedMessages: l.receivedMessages,
      droppedMessages: l.droppedMessages,
      queuedMessages: l.queue.length,
      queuedBytes: l.queuedBytes,
      connects: l.connects,
    };
  }

  send(to: NodeId, msg: Message): void {
    if (this.isClosed) return;
    const link = this.links.get(to);
    if (!link) {
      if (!this.unknownWarned.has(to)) {
        this.unknownWarned.add(to);
        this.logger.warn({ self: this.self, peer: to }, 'dropping messages to an unknown peer id (not in peers)');
      }
      return;
    }
    if (link.state === 'down') {
      link.droppedMessages++;
      return;
    }
    const size = messageSize(msg);
    if (size > this.maxFrameBytes) {
      link.droppedMessages++;
      this.logger.warn({ self: this.self, peer: to, type: msg.t, bytes: size, limit: this.maxFrameBytes }, 'dropping a message larger than maxFrameBytes: send smaller batches or raise maxFrameBytes on every node');
      return;
    }
    const frameBytes = FRAME_HEADER_BYTES + size;
    if (link.queue.length >= this.queueMaxMessages || link.queuedBytes + frameBytes > this.queueMaxBytes) {
      link.droppedMessages++;
      if (!link.overflowLogged) {
        link.overflowLogged = true;
        this.logger.warn(
          { self: this.self, peer: to, queued: link.queue.length, queuedBytes: link.queuedBytes },
          'outbound queue full (outboundQueueMaxMessages / outboundQueueMaxBytes): dropping messages until it drains',
        );
      }
      return;
    }
    const frame = Buffer.allocUnsafe(frameBytes);
    const w = new ByteWriter(frame, FRAME_HEADER_BYTES);
    writeMessage(w, msg);
    w.done();
    writeFrameHeader(frame, 0, size);
    link.queue.push(frame);
    link.queuedBytes += frameBytes;
    if (link.conn) this.scheduleFlush();
  }

  /** Stops listening and dialing, destroys every socket; cb runs once the listener is closed. */
  close(cb?: () => void): void {
    if (this.isClosed) {
      if (cb) setImmediate(cb);
      return;
    }
    this.isClosed = true;
    for (const link of this.links.values()) {
      clearTimeout(link.retryTimer);
      link.retryTimer = undefined;
      link.dropQueue();
    }
    for (const c of [...this.conns]) c.closeNow();
    for (const s of this.lingering) s.destroy();
    this.lingering.clear();
    const server = this.server;
    this.server = null;
    if (server && server.listening) server.close(() => cb?.());
    else if (cb) setImmediate(cb);
  }

  // --- used by Conn --------------------------------------------------------

  linger(socket: net.Socket): void {
    if (this.isClosed) {
      socket.destroy();
      return;
    }
    this.lingering.add(socket);
    const timer = setTimeout(() => socket.destroy(), REJECT_LINGER_MS);
    socket.once('close', () => {
      clearTimeout(timer);
      this.lingering.delete(socket);
    });
  }

  isPeer(id: NodeId): boolean {
    return this.links.has(id);
  }

  linkOf(id: NodeId): PeerLink | undefined {
    return this.links.get(id);
  }

  deliver(from: NodeId, msg: Message): void {
    const link = this.links.get(from);
    if (link) link.receivedMessages++;
    this.handler?.(from, msg);
  }

  opened(c: Conn): void {
    const link = this.links.get(c.peer!)!;
    if (c.outbound) {
      link.dialing = null;
    } else {
      link.inboundHandshakes--;
      this.pendingInbound--;
    }
    if (link.conn) {
      this.logger.info({ self: this.self, peer: link.id }, 'a new authenticated connection replaces the old one (the peer restarted)');
      const old = link.conn;
      link.conn = null;
      old.closeNow();
    }
    link.conn = c;
    link.awaitingDrain = false;
    link.connects++;
    link.backoffMs = this.reconnectMinMs;
    link.outageLogged = false;
    this.logger.info({ self: this.self, peer: link.id, outbound: c.outbound }, 'peer connected');
    if (link.queue.length > 0) this.scheduleFlush();
  }

  closed(c: Conn, wasOpen: boolean, wasInboundHandshake: boolean): void {
    this.conns.delete(c);
    const link = c.peer !== undefined ? this.links.get(c.peer) : undefined;
    if (!c.outbound && !wasOpen) this.pendingInbound--;
    if (!link) return;
    if (wasInboundHandshake) link.inboundHandshakes--;
    if (link.conn === c) {
      link.conn = null;
      link.dropQueue();
      link.overflowLogged = false;
      if (!this.isClosed) this.logger.info({ self: this.self, peer: link.id }, 'peer disconnected');
    }
    if (link.dialing === c) {
      link.dialing = null;
      // A failed attempt (not a broken working link) backs off further.
      link.backoffMs = Math.min(this.reconnectMaxMs, link.backoffMs * 2);
    }
    // Down means dropped: nothing queued for a failed connection waits for a later one.
    if (link.state === 'down') link.dropQueue();
    if (link.weDial && !link.conn && !link.dialing && !this.isClosed) this.scheduleReconnect(link);
  }

  dialFailed(c: Conn, reason: string): void {
    const link = this.links.get(c.peer!);
    if (!link || link.outageLogged) return;
    link.outageLogged = true;
    const where = { self: this.self, peer: link.id, host: link.host, port: link.port, err: reason };
    if (this.startingUp(link.id)) this.logger.debug?.(where, 'cannot reach peer yet; retrying with backoff');
    else this.logger.info(where, 'cannot reach peer; retrying with backoff');
  }

  /**
   * Whether a failure to connect is an expected start-up retry: that peer (or, for an inbound
   * connection not yet identified, some peer) was never connected since this transport
   * started. Nodes of a cluster start at about the same time and each waits for the others;
   * a link that worked and broke, or a handshake refused for a reason, is reported as before.
   */
  startingUp(peer: NodeId | undefined): boolean {
    if (peer !== undefined) return (this.links.get(peer)?.connects ?? 1) === 0;
    for (const l of this.links.values()) if (l.connects === 0) return true;
    return false;
  }

  // --- internals -------------------------------------------------------------

  private accept(socket: net.Socket): void {
    if (this.isClosed) {
      socket.destroy();
      return;
    }
    if (this.pendingInbound >= MAX_PENDING_HANDSHAKES) {
      this.logger.warn({ self: this.self, remote: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`, limit: MAX_PENDING_HANDSHAKES }, 'refusing a connection: too many unauthenticated connections (MAX_PENDING_HANDSHAKES)');
      socket.destroy();
      return;
    }
    this.pendingInbound++;
    this.conns.add(new Conn(this, socket, false, undefined, `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`));
  }

  private dial(link: PeerLink): void {
    if (this.isClosed || link.conn || link.dialing) return;
    const socket = net.connect({ host: link.host, port: link.port });
    const c = new Conn(this, socket, true, link.id, `${link.host}:${link.port}`);
    link.dialing = c;
    this.conns.add(c);
  }

  private scheduleReconnect(link: PeerLink): void {
    if (link.retryTimer) return;
    // Equal jitter: half the backoff fixed, half random, so peers restarting together spread out.
    const delay = link.backoffMs / 2 + Math.random() * (link.backoffMs / 2);
    link.retryTimer = setTimeout(() => {
      link.retryTimer = undefined;
      this.dial(link);
    }, delay);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.isClosed) return;
    // At the end of the current callback: everything one turn of the node sends (one Ready)
    // is queued by then, so each peer still gets one socket write, without waiting a loop turn.
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      if (!this.isClosed) this.flushAll();
    });
  }

  /** One socket write per connected peer with queued frames. */
  private flushAll(): void {
    let more = false;
    for (const link of this.links.values()) {
      const conn = link.conn;
      if (!conn || link.queue.length === 0) continue;
      // The kernel buffer is full: keep frames in our bounded queue until 'drain'.
      if (conn.socket.writableNeedDrain) {
        if (!link.awaitingDrain) {
          link.awaitingDrain = true;
          conn.socket.once('drain', () => {
            if (link.conn !== conn) return;
            link.awaitingDrain = false;
            this.scheduleFlush();
          });
        }
        continue;
      }
      let n = 0;
      let bytes = 0;
      while (n < link.queue.length && (n === 0 || bytes + link.queue[n]!.length <= WRITE_BATCH_MAX_BYTES)) {
        bytes += link.queue[n]!.length;
        n++;
      }
      const batch = n === link.queue.length ? link.queue : link.queue.slice(0, n);
      link.queue = n === link.queue.length ? [] : link.queue.slice(n);
      link.queuedBytes -= bytes;
      link.sentMessages += n;
      conn.socket.write(batch.length === 1 ? batch[0]! : Buffer.concat(batch, bytes));
      if (link.queue.length > 0) more = true;
      else link.overflowLogged = false;
    }
    if (more) this.scheduleFlush();
  }
}

/** Promise helper: a listening transport. */
export function startPeerTransport(opts: PeerTransportOptions): Promise<{ transport: PeerTransport; port: number }> {
  return new Promise((resolve, reject) => {
    const t = new PeerTransport(opts);
    t.listen((err, addr) => {
      if (err || !addr) reject(err ?? new Error('no address'));
      else resolve({ transport: t, port: addr.port });
    });
  });
}
