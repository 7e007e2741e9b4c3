// Sizes token buckets from request traces (JSON lines of bench/batch-trace.mjs or the browser batch): for each
// rate-limit class, the smallest burst that admits every request of the trace at a given refill rate, and whether
// a given rule (per second, burst) would have refused any. A token bucket of rate R admits a trace without a refusal
// exactly when its burst is at least the peak of the level L(j) = max(0, L(j-1) - R * (t(j) - t(j-1))) + 1.
// Usage: node bench/limits.mjs <trace.jsonl> [class=perSecond:burst ...]
import fs from 'node:fs';

const [file, ...rules] = process.argv.slice(2);
const runs = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line));
const proposed = Object.fromEntries(rules.map((r) => {
  const [name, rest] = r.split('=');
  const [perSecond, burst] = rest.split(':').map(Number);
  return [name, { perSecond, burst }];
}));

const needed = (times, rate) => {
  let level = 0; let peak = 0; let last = times[0] ?? 0;
  for (const t of times) {
    level = Math.max(0, level - rate * (t - last)) + 1;
    last = t;
    peak = Math.max(peak, level);
  }
  return Math.ceil(peak);
};

for (const run of runs) {
  const byClass = {};
  for (const [t, name] of run.trace) (byClass[name] ??= []).push(t);
  console.log(`${run.label ?? ''} ${run.count} x ${run.sizeKib} KiB at ${run.concurrency}: ${run.ok} ok, ${run.failed} failed in ${run.seconds.toFixed(1)} s; statuses ${JSON.stringify(run.statuses)}`);
  for (const [name, times] of Object.entries(byClass)) {
    times.sort((a, b) => a - b);
    const span = Math.max(times[times.length - 1] - times[0], 1e-3);
    const cells = [5, 10, 20, 50, 100].map((rate) => `burst ${String(needed(times, rate)).padStart(4)} at ${rate}/s`).join(', ');
    const rule = proposed[name];
    const verdict = rule ? `; ${rule.perSecond}/s burst ${rule.burst}: ${needed(times, rule.perSecond) <= rule.burst ? 'no refusal' : 'REFUSES'}` : '';
    console.log(`  ${name.padEnd(7)} ${String(times.length).padStart(5)} requests, mean ${(times.length / span).toFixed(1)}/s; ${cells}${verdict}`);
  }
}
