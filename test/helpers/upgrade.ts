// A raw HTTP Upgrade (websocket) request for tests that only need the status line of the answer.
import { connect } from 'node:net';

/** sends `GET path` as an upgrade with `cookie`, the target exactly as written; resolves the answer's status line */
export function upgradeStatus(base: string, path: string, cookie: string): Promise<string> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () =>
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nCookie: ${cookie}\r\n\r\n`),
    );
    let got = '';
    socket.on('data', (d: Buffer) => {
      got += d.toString();
      if (got.includes('\r\n')) {
        socket.destroy();
        resolve(got.split('\r\n')[0]!);
      }
    });
    socket.on('error', reject);
    socket.setTimeout(5000, () => {
      socket.destroy();
      reject(new Error(`no answer to the upgrade of ${path}`));
    });
  });
}
