// What ran on the main thread during each stall of the event loop that bench/big-push.ts saw:
// its --stalls file holds each stall's window on the CPU profile's clock (monotonic µs), and the
// samples of the main thread's .cpuprofile taken in that window say which functions held it.
//
//   node --import tsx --cpu-prof --cpu-prof-dir /tmp/prof bench/big-push.ts --stores redis --stalls /tmp/stalls.json
//   npx tsx bench/stall-profile.ts /tmp/prof/CPU.<the main thread's>.cpuprofile /tmp/stalls.json [--min 15] [--lines 8]
import { readFileSync } from 'node:fs';
import { summarizeCpuProfile } from './lib.ts';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1]! : fallback;
}

const [profile, stallFile] = process.argv.slice(2);
if (!profile || !stallFile) throw new Error('usage: stall-profile.ts PROFILE STALLS [--min ms] [--lines n]');
const minMs = Number(arg('--min', '15'));
const lines = Number(arg('--lines', '8'));
const stalls = JSON.parse(readFileSync(stallFile, 'utf8')) as Array<{ push: string; fromUs: number; toUs: number }>;
// summed over every stall of at least minMs: which src/ function or package held the loop longest
const total = new Map<string, number>();
let stalledMs = 0;
for (const s of stalls) {
  const ms = (s.toUs - s.fromUs) / 1000;
  if (ms < minMs) continue;
  stalledMs += ms;
  const sum = summarizeCpuProfile(profile, '/src/', 40, s);
  console.log(`== ${s.push}: stall of ${ms.toFixed(1)} ms (${sum.busyMs.toFixed(1)} ms of samples not idle)`);
  console.log(`  self:  ${sum.self.slice(0, lines).map((x) => `${x.ms.toFixed(1)} ${x.name}`).join(' | ')}`);
  console.log(`  under: ${sum.inclusive.slice(0, lines).map((x) => `${x.ms.toFixed(1)} ${x.name}`).join(' | ')}`);
  for (const x of sum.inclusive) total.set(x.name, (total.get(x.name) ?? 0) + x.ms);
  for (const x of sum.groups) if (x.name.startsWith('(')) total.set(x.name, (total.get(x.name) ?? 0) + x.ms);
}
console.log(`\n${stalledMs.toFixed(0)} ms in stalls of ${minMs} ms or more; held by (inclusive, summed):`);
for (const [name, ms] of [...total].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`  ${ms.toFixed(1).padStart(7)}  ${name}`);
