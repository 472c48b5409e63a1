// What every browser test of `osprey view` shares: the binary and fixtures, a TAP-like test
// runner, starting `osprey view` and reading the URL it prints, the API's URLs with the token,
// and Debian's chromium driven by playwright-core (no browser download) with a fresh profile.

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const found = process.env.OSPREY_BIN
  ?? [join(root, 'target/release/osprey'), join(root, 'target/debug/osprey')].find(existsSync);
assert.ok(found && existsSync(found), 'build osprey first (cargo build -p osprey)');
/** The binary under test (OSPREY_BIN, else the release build, else the debug one). */
export const bin = resolve(found);
export const DOCS = join(root, 'tests/fixtures/tracee/tracee-docs-v0.23.jsonl');
export const ACTION = join(root, 'tests/fixtures/tracee/tracee-action-trace.jsonl');
export const DEMO = join(root, 'samples/demo.pcapng');
/** Where screenshots go (docs/img/ copies the good ones). */
export const shots = join(root, 'target/view-screenshots');
mkdirSync(shots, { recursive: true });
export const requireBpf = process.env.OSPREY_REQUIRE_BPF === '1';
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const children = [];
const dirs = [];
// A test file that dies on an error before `finish` still stops its servers (a live one
// stops its tracer with it).
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGINT');
});
let passed = 0;
let failed = 0;

/** A scratch directory, removed by `finish`. */
export function scratchDir(prefix) {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

/** Skips the whole file (exit 0) unless running as root, where OSPREY_REQUIRE_BPF=1 makes it a
 * failure instead. */
export function needRoot(what, extra = true) {
  if (process.getuid() === 0 && extra) return;
  if (requireBpf) { console.log(`not ok - ${what}: OSPREY_REQUIRE_BPF=1 but it cannot run here`); process.exit(1); }
  console.log(`ok - ${what} # SKIP needs root`);
  process.exit(0);
}

/** Runs one test, printing `ok`/`not ok` with its time; failures are counted, not thrown. */
export async function test(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    passed++;
    console.log(`ok - ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failed++;
    console.log(`not ok - ${name}\n${e && e.stack ? e.stack : e}`);
  }
}

let notesDir = null;
/** Starts `osprey view --no-browser --port 0 ARGS...` and returns the URL it prints (with its
 * token) and the child, which `finish` stops. Marks and notes go to a scratch file (`--notes`)
 * unless `sidecar` is set: a test never writes beside the repository's fixtures, nor into the
 * user's data directory (a live capture's notes). */
export function serveChild(args, { sidecar = false } = {}) {
  notesDir ??= scratchDir('osprey-view-notes-');
  const notes = sidecar ? [] : ['--notes', join(notesDir, `notes-${children.length}.json`)];
  const child = spawn(bin, ['view', '--no-browser', '--port', '0', ...notes, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const url = new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/^(http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{32})\n/);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`osprey view exited with ${code}`)));
  });
  return { child, url };
}

/** The URL `osprey view ARGS...` prints. */
export const serve = (args, options) => serveChild(args, options).url;

/** An API path of the server at `url` (the printed URL), with its token. */
export function apiUrl(url, path) {
  const u = new URL(url);
  const sep = path.includes('?') ? '&' : '?';
  return `${u.origin}/${path}${sep}token=${u.searchParams.get('token')}`;
}
export const apiJson = async (url, path) => (await fetch(apiUrl(url, path))).json();

/** `osprey ARGS...`'s standard output. */
export const osprey = (args) => execFileSync(bin, args, { encoding: 'utf8', maxBuffer: 1 << 28 });

/** The frames `osprey read -Y FILTER` prints, as numbers. */
export function readFrames(files, filter) {
  const args = ['read', '-q', '-T', 'fields', '-e', 'frame.number'];
  if (filter) args.push('-Y', filter);
  for (const f of files) args.push('-r', f);
  return osprey(args).split('\n').filter(Boolean).map(Number);
}

/** `osprey read -z VIEW -T json [-Y FILTER] [OPTS...]`'s result of the view. */
export function readZ(files, view, filter, opts = []) {
  const args = ['read', '-q', '-z', view, '-T', 'json', ...opts];
  if (filter) args.push('-Y', filter);
  for (const f of files) args.push('-r', f);
  return JSON.parse(osprey(args))[0];
}

let profileDir = null;
let context = null;
/** Debian's chromium, headless, with a fresh profile; the page records requests leaving
 * 127.0.0.1 (`outside`) and script errors (`pageErrors`). */
export async function launch(options = {}) {
  profileDir = mkdtempSync(join(tmpdir(), 'osprey-view-chromium-'));
  context = await chromium.launchPersistentContext(profileDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1400, height: 900 },
    acceptDownloads: true,
    ...options,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      // Chromium's Private Network Access would stop other origins' requests to 127.0.0.1
      // before the server sees them: off, so that the tests check the server's own refusal (as
      // a browser without it would reach it).
      '--disable-features=BlockInsecurePrivateNetworkRequests,PrivateNetworkAccessSendPreflights,LocalNetworkAccessChecks'],
  });
  const page = context.pages()[0] ?? await context.newPage();
  const outside = [];
  page.on('request', (r) => { if (!r.url().startsWith('http://127.0.0.1:')) outside.push(r.url()); });
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  return { context, page, outside, pageErrors };
}

const cleanups = [];
/** Runs `fn` in `finish`, after the servers stopped (e.g. stopping an sshd of the test's own). */
export const onFinish = (fn) => cleanups.push(fn);

/** Closes the browser, interrupts the servers (a live capture stops with its server) and waits
 * for them, runs the `onFinish` functions, removes the scratch directories, prints the count
 * and exits: 1 when a test failed, else `code` (default 0). */
export async function finish(code = 0) {
  if (context) await context.close();
  for (const c of children) {
    if (c.exitCode !== null || c.signalCode !== null) continue;
    c.kill('SIGINT');
    const stopped = await Promise.race([new Promise((r) => c.once('exit', () => r(true))), sleep(30_000).then(() => false)]);
    if (!stopped) c.kill('SIGKILL');
  }
  for (const fn of cleanups) await fn();
  if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : code);
}
