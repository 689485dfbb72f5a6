// Starts a worker thread from a module next to its caller. The gateway runs under tsx, where a
// worker does not inherit the TypeScript loader: such a worker registers it before importing
// its module. A compiled (.js) module is started as is.
import { Worker, type WorkerOptions } from 'node:worker_threads';

export function startWorker(module: URL, opts: WorkerOptions = {}): Worker {
  if (!module.pathname.endsWith('.ts')) return new Worker(module, opts);
  const loader = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  return new Worker(`import(${loader}).then((m) => { m.register(); return import(${JSON.stringify(module.href)}); })`, { ...opts, eval: true });
}
