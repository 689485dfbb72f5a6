// The system Chromium (Debian `chromium`) driven by playwright-core, which never downloads a
// browser. Launched as a server so the test holds the browser's PID and can kill it by PID when a
// polite close does not finish.
//
//   const needChromium = requireBinary('chromium', CHROMIUM_INSTALL);
//   describe('…', needChromium, () => { before(async () => (chrome = await launchChromium())); after(() => chrome?.close()); … });
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_INSTALL = 'apt-get install -y chromium';
const EXECUTABLE = '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];
const CLOSE_TIMEOUT_MS = 5000;

export interface Chromium {
  browser: Browser;
  /** closes the browser; kills its process group by PID if that does not finish in time */
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Chromium> {
  const server = await chromium.launchServer({ executablePath: EXECUTABLE, args: ARGS, headless: true, timeout: 15_000 });
  const child = server.process();
  const pid = child.pid!;
  const exited = new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
  const kill = () => {
    // playwright starts the browser as a process-group leader: -pid reaches its helpers too
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  };
  let browser: Browser;
  try {
    browser = await chromium.connect(server.wsEndpoint(), { timeout: 10_000 });
  } catch (e) {
    kill();
    throw e;
  }
  return {
    browser,
    async close() {
      const timer = setTimeout(kill, CLOSE_TIMEOUT_MS);
      await browser.close().catch(() => {});
      await server.close().catch(kill);
      await exited;
      clearTimeout(timer);
    },
  };
}
