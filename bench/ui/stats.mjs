// Benchmark of the UI's statistics windows and process tree (issue 14, point 7) — a
// measurement, not a test: it prints figures and asserts only that each window rendered.
//
//   node bench/ui/stats.mjs            (from the repository root; ui/node_modules installed)
//
// OSPREY_BIN: the binary (default target/release/osprey if built, else target/debug/osprey).
// OSPREY_BENCH_EVENTS: events of the generated recording (default 1,000,000): the lines of
//   tests/fixtures/tracee/tracee-docs-v0.23.jsonl (syscalls, files, DNS, HTTP, TCP, ICMP
//   packets, a signature) repeated with shifted timestamps and 500 host PIDs.
// OSPREY_BENCH_PROCS: processes of the process-tree recording (default 50,000; about 4 events
//   per process: fork, exec (two for every 5th), an open, an exit; a tree a few levels deep).
//
// For each statistics window: the time from the click on its Analyze menu entry to its rows
// in the page (the server's run over every frame, the JSON, the table), each view computed
// for the first time (the server caches runs by view and filter). For the process tree: the
// time to its first rows, to "Expand all" of every process, and the frame times of a scroll
// through the whole expanded tree (200 px a frame).
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { chromium } = createRequire(join(root, 'ui/package.json'))('playwright-core');
const { generateProcs } = await import(join(root, 'ui/tests/gen-procs.mjs'));
const bin = process.env.OSPREY_BIN
  ?? [join(root, 'target/release/osprey'), join(root, 'target/debug/osprey')].find(existsSync);
const EVENTS = Number(process.env.OSPREY_BENCH_EVENTS ?? 1_000_000);
const PROCS = Number(process.env.OSPREY_BENCH_PROCS ?? 50_000);
const scratch = mkdtempSync(join(tmpdir(), 'osprey-ui-bench-'));
const children = [];

async function generateEvents(path, n) {
  const lines = readFileSync(join(root, 'tests/fixtures/tracee/tracee-docs-v0.23.jsonl'), 'utf8').split('\n').filter(Boolean);
  const out = createWriteStream(path);
  const t0 = 1_700_000_000_000_000_000n;
  for (let i = 0; i < n; i++) {
    const e = JSON.parse(lines[i % lines.length]);
    e.timestamp = 0;
    const pid = 1000 + (Math.floor(i / lines.length) % 500);
    e.hostProcessId = pid; e.processId = pid; e.hostThreadId = pid; e.threadId = pid;
    const line = JSON.stringify(e).replace('"timestamp":0', `"timestamp":${t0 + BigInt(i) * 1000n}`);
    if (!out.write(line + '\n')) await new Promise((r) => out.once('drain', r));
  }
  await new Promise((r) => out.end(r));
}

function serve(files) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['view', '--no-browser', '--port', '0', ...files], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/^(http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{32})\n/);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`osprey view exited with ${code}`)));
  });
}

const profileDir = mkdtempSync(join(tmpdir(), 'osprey-ui-bench-chromium-'));
const context = await chromium.launchPersistentContext(profileDir, {
  executablePath: '/usr/bin/chromium', headless: true, viewport: { width: 1400, height: 900 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = context.pages()[0] ?? await context.newPage();
page.setDefaultTimeout(600_000);

async function analyze(...path) {
  await page.click('#analyze');
  let scope = '#menu';
  for (const [k, label] of path.entries()) {
    const item = `${scope} > .mi[data-label="${label}"]`;
    await page.waitForSelector(item);
    if (k < path.length - 1) { await page.hover(item); scope = `${item} > .submenu`; } else {
      // The clock starts at the click on the entry (not counting the menu's navigation).
      await page.hover(item);
      const t0 = Date.now();
      await page.click(item);
      return t0;
    }
  }
}
async function loaded(url) {
  await page.goto(url);
  await page.waitForFunction(() => document.getElementById('status-left')?.dataset.complete === 'true', null, { timeout: 3_600_000 });
}
const ms = (t) => `${Math.round(t)} ms`;

console.log(`binary: ${bin}`);
// ---------- the statistics windows over EVENTS events ----------
const big = join(scratch, 'events.json');
let t = Date.now();
await generateEvents(big, EVENTS);
console.log(`generated ${EVENTS.toLocaleString('en-US')} events (${(statSync(big).size / 1e6).toFixed(0)} MB) in ${ms(Date.now() - t)}`);
t = Date.now();
await loaded(await serve([big]));
console.log(`indexed in ${ms(Date.now() - t)}\n\nwindow (click → rendered)`);
const TREES = ['Standard', 'With Opened Files', 'With Written Files', 'With Network', 'With Signatures'];
const windows = [
  [['Statistics', 'Event Counts'], 'stats-event-counts'],
  [['Statistics', 'Event Counts per Container'], 'stats-event-counts-container'],
  [['Statistics', 'File Types'], 'stats-file-types'],
  ...TREES.flatMap((tr, i) => [false, true].map((c) => {
    const v = ['tracee,process_tree', ['', 'opened_files', 'written_files', 'network', 'signatures'][i], c ? 'container' : ''].filter(Boolean).join(',');
    return [['Statistics', 'Process Trees', `${tr}${c ? ' per Container' : ''}`], `stats-${v.replace(/[^\w]+/g, '-')}`];
  })),
  [['Statistics', 'Conversations'], 'stats-conv'],
  [['Statistics', 'Endpoints'], 'stats-endpoints'],
  [['Statistics', 'Protocol Hierarchy'], 'stats-phs'],
  [['Statistics', 'DNS'], 'stats-dns'],
  [['Statistics', 'HTTP'], 'stats-http'],
];
const results = [];
// The server's own time for each run (its state's elapsed_ms once done), and the polls the
// page made, to tell the engine's time from the rest.
let server = null, polls = 0, inPass = false;
page.on('response', async (r) => {
  if (!/\/api\/stats\/\d+$/.test(new URL(r.url()).pathname)) return;
  polls++;
  const body = await r.json().catch(() => null);
  if (body?.state?.done) { server = body.state.elapsed_ms; inPass = body.state.in_index_pass; }
});
for (const [path, id] of windows) {
  server = null; polls = 0; inPass = false;
  const t0 = await analyze(...path);
  await page.waitForSelector(`#panel-${id}[data-state="done"]`);
  const shown = await page.$$eval(`#panel-${id} .tt-row`, (r) => r.length);
  const dt = Date.now() - t0;
  results.push([path.slice(1).join(' ▸ '), dt]);
  console.log(`  ${path.slice(1).join(" ▸ ").padEnd(44)} ${ms(dt).padStart(8)}  (server ${server ?? '?'} ms${inPass ? ' in the index pass' : ''}, ${polls} polls, ${shown} rows in view)`);
  await page.click(`#panel-${id} .panel-close`);
}
console.log(`  slowest: ${ms(Math.max(...results.map((r) => r[1])))}`);
await page.goto('about:blank');
for (const c of children.splice(0)) c.kill();
rmSync(big, { force: true });

// ---------- the process tree of PROCS processes ----------
const procs = join(scratch, 'procs.json');
t = Date.now();
await generateProcs(procs, PROCS);
console.log(`\ngenerated ${PROCS.toLocaleString('en-US')} processes (${(statSync(procs).size / 1e6).toFixed(0)} MB) in ${ms(Date.now() - t)}`);
await loaded(await serve([procs]));
t = await analyze('Process Tree');
await page.waitForSelector('#panel-process-tree[data-state="done"] .tt-row');
console.log(`process tree: click → first rows ${ms(Date.now() - t)} (${await page.$eval('#panel-process-tree', (p) => p.dataset.processes)} processes)`);
await page.$eval('#panel-process-tree', (p) => { p.style.height = '800px'; p.style.top = '60px'; });
t = Date.now();
await page.click('#panel-process-tree .pt-expand');
await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
const rows = await page.$eval('#panel-process-tree .tt', (x) => Number(x.dataset.rows));
console.log(`Expand all: ${ms(Date.now() - t)} (${rows.toLocaleString('en-US')} rows)`);
const frames = await page.evaluate(async () => {
  const s = document.querySelector('#panel-process-tree .tt-scroll');
  const times = [];
  let last = performance.now();
  while (s.scrollTop + s.clientHeight < s.scrollHeight - 1 && times.length < 5000) {
    s.scrollTop += 200;
    await new Promise((r) => requestAnimationFrame(r));
    const now = performance.now();
    times.push(now - last);
    last = now;
  }
  return times;
});
frames.sort((a, b) => a - b);
const q = (p) => frames[Math.min(frames.length - 1, Math.floor(p * frames.length))].toFixed(1);
console.log(`scroll through the expanded tree: ${frames.length} frames; frame time p50 ${q(0.5)} ms, p95 ${q(0.95)} ms, p99 ${q(0.99)} ms, max ${frames[frames.length - 1].toFixed(1)} ms`);
console.log(`rows in the page while scrolling: ${await page.$$eval('#panel-process-tree .tt-row', (r) => r.length)}`);

await context.close();
for (const c of children) c.kill();
rmSync(scratch, { recursive: true, force: true });
rmSync(profileDir, { recursive: true, force: true });
