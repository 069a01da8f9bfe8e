import { createServer, type Server, type Socket } from 'node:net';

/** Listeners on guest IPs standing for RDP and SSH services of reachable guests. */
export class ProbeListeners {
  private readonly servers = new Map<string, Server>();
  private readonly sockets = new Set<Socket>();
  private chain: Promise<void> = Promise.resolve();
  /** Addresses that could not be bound (e.g. another simulator holds them). */
  readonly failures = new Map<string, string>();
  private stopped = false;

  /** Brings the open listeners in line with `wanted` (`ip:port:kind` keys); serialized. */
  sync(wanted: Map<string, { ip: string; port: number; kind: 'rdp' | 'ssh' }>): Promise<void> {
    this.chain = this.chain.then(() => this.apply(wanted));
    return this.chain;
  }

  /** Resolves when every queued sync has been applied. */
  idle(): Promise<void> {
    return this.chain;
  }

  private async apply(wanted: Map<string, { ip: string; port: number; kind: 'rdp' | 'ssh' }>): Promise<void> {
    if (this.stopped) return;
    const closing: Promise<void>[] = [];
    for (const [key, server] of this.servers) {
      if (!wanted.has(key)) {
        this.servers.delete(key);
        closing.push(new Promise((resolve) => server.close(() => resolve())));
      }
    }
    const opening: Promise<void>[] = [];
    for (const [key, spec] of wanted) {
      if (this.servers.has(key) || this.failures.has(key)) continue;
      const server = createServer((socket) => this.accept(socket, spec.kind));
      this.servers.set(key, server);
      opening.push(
        new Promise((resolve) => {
          server.once('error', (err) => {
            this.servers.delete(key);
            this.failures.set(key, err.message);
            resolve();
          });
          server.listen({ host: spec.ip, port: spec.port, exclusive: true }, () => resolve());
        }),
      );
    }
    await Promise.all([...closing, ...opening]);
  }

  private accept(socket: Socket, kind: 'rdp' | 'ssh'): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    // An SSH server greets first; an RDP server waits for the client, a probe only needs the handshake.
    if (kind === 'ssh') socket.end('SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n');
    else socket.end();
  }

  /** Number of listeners currently open. */
  get size(): number {
    return this.servers.size;
  }

  /** Closes every listener and connection. */
  async close(): Promise<void> {
    await this.chain;
    this.stopped = true;
    for (const s of this.sockets) s.destroy();
    const all = [...this.servers.values()];
    this.servers.clear();
    await Promise.all(all.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}
