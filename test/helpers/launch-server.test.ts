// The test harness's own promises about ports: freePort hands out ports outside the kernel's
// ephemeral range (where listen(0) and outgoing connections take theirs), and launchServer does
// not take another process answering on the port for the server it started.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { describe, it } from 'node:test';
import { launchServer, listensOn, terminate } from './process.ts';
import { freePort, requireBinary } from './redis-server.ts';

const needRedis = requireBinary('redis-server', 'apt-get install -y redis-server');
const redisArgs = (port: number) => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer((socket) => {
      socket.on('error', () => {}); // the readiness probe hangs up at once
      socket.end('+PONG\r\n');
    });
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
}

describe('test ports', () => {
  it('freePort: distinct ports, each free, below the ephemeral range', async () => {
    const ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    assert.equal(new Set(ports).size, ports.length, `repeated: ${ports.join(', ')}`);
    for (const p of ports) assert.ok(p < ephemeralLow, `${p} is inside the ephemeral range (from ${ephemeralLow})`);
    const servers = await Promise.all(ports.map(listen)); // each one free: every bind succeeds
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  });

  it('listensOn tells this process\'s listening socket from a port nobody (or someone else) holds', async () => {
    const [mine, other] = [await freePort(), await freePort()];
    const s = await listen(mine);
    try {
      assert.equal(listensOn(process.pid, mine), true);
      assert.equal(listensOn(process.pid, other), false);
    } finally {
      await new Promise((r) => s.close(r));
    }
  });

  describe('launchServer', needRedis, () => {
    it('starts a server on a free port, and that server holds the port (positive control)', async () => {
      const port = await freePort();
      const { child } = await launchServer('redis-server', redisArgs(port), { port, timeoutMs: 5000 });
      try {
        assert.equal(listensOn(child.pid!, port), true);
      } finally {
        await terminate(child);
      }
    });

    it('refuses a server whose port another process answers on: it did not start, whatever answers', async () => {
      const port = await freePort();
      const squatter = await listen(port); // answers TCP (and PING) on the port
      try {
        await assert.rejects(launchServer('redis-server', redisArgs(port), { port, timeoutMs: 3000 }), /did not start/);
      } finally {
        await new Promise((r) => squatter.close(r));
      }
    });
  });
});
