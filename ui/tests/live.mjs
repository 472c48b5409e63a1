// End-to-end test of `osprey view --live local` in Debian's chromium (playwright-core, as
// tests/browser.mjs): a real trace, started from the capture-options dialog with a preset that
// scopes it to a command name this test runs. It checks that the list grows as processes run,
// follows the newest rows, stops following when scrolled up and follows again at the bottom,
// that Pause display holds the list, that a filter applies to events that arrive after it,
// the log, and that Stop ends the tracer: no process left, none of its BPF programs loaded.
//
// Tracing needs root: without it the test skips, unless OSPREY_REQUIRE_BPF=1 (CI), which makes
// that a failure, as does a tracer that cannot load its BPF programs.

import { execFileSync } from 'node:child_process';
import { mkdirSync, existsSync, readFileSync, readdirSync, copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  shots, scratchDir, test, serveChild, launch, finish, sleep, requireBpf, needRoot, apiJson as apiJsonOf,
} from './harness.mjs';

needRoot('live capture');

const scratch = scratchDir('osprey-live-test-');
// Processes of this name are the traced workload: /bin/true under another name.
const COMM = 'osprlive';
const workload = join(scratch, COMM);
copyFileSync('/bin/true', workload);
execFileSync('chmod', ['755', workload]);
const outDir = join(scratch, 'out');
const presets = join(scratch, 'presets');
mkdirSync(presets);
writeFileSync(join(presets, 'osprlive-only'), `# the test's workload only\n--scope comm=${COMM}\n`);


const { url: serving } = serveChild(['--live', 'local', '--presets', presets]);
const url = await serving;
const apiJson = (path) => apiJsonOf(url, path);

/** Runs the workload `n` times, one after the other. */
function runWorkload(n) {
  for (let i = 0; i < n; i++) execFileSync(workload);
}

/** The BPF program ids a process holds (its file descriptors' fdinfo). */
function bpfProgramsOf(pid) {
  const ids = new Set();
  for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
    let info;
    try { info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'); } catch { continue; }
    const m = info.match(/^prog_id:\s*(\d+)/m);
    if (m) ids.add(Number(m[1]));
  }
  return ids;
}
const loadedPrograms = () => new Set(JSON.parse(execFileSync('bpftool', ['prog', 'show', '-j'], { encoding: 'utf8' })).map((p) => p.id));

const { page, pageErrors } = await launch();
const displayed = () => page.$eval('#status-left', (s) => Number(s.dataset.displayed));
/** Offsets of the last row on screen and of the view's last row. */
const tail = () => page.evaluate(() => {
  const rows = [...document.querySelectorAll('.row[data-offset]')];
  const sc = document.getElementById('list-scroll');
  const box = sc.getBoundingClientRect();
  const seen = rows.filter((r) => r.getBoundingClientRect().top < box.bottom - 2);
  return { lastShown: Number(seen.at(-1)?.dataset.offset ?? -1), total: Number(document.getElementById('status-left').dataset.displayed), scrollTop: sc.scrollTop };
});
/** Waits until the list has not scrolled for 300 ms. */
async function settled() {
  let last = -1;
  for (let i = 0; i < 100; i++) {
    const now = await page.$eval('#list-scroll', (sc) => sc.scrollTop);
    if (now === last) return;
    last = now;
    await sleep(300);
  }
  throw new Error('the list keeps scrolling');
}
const following = () => page.$eval('#live-follow', (b) => b.dataset.follow === 'true');
let tracerPid = null;
let tracerPrograms = new Set();
let running = false;

await test('the capture-options dialog starts a trace with a preset', async () => {
  await page.goto(url);
  await page.waitForSelector('#capture-dialog[open]');
  const options = await page.$$eval('#capture-preset option', (os) => os.map((o) => o.value));
  assert.deepEqual(options, ['', 'osprlive-only']);
  await page.selectOption('#capture-preset', 'osprlive-only');
  assert.match(await page.textContent('#capture-preset-text'), /--scope comm=osprlive/);
  await page.fill('#capture-events', 'default');
  // Artifacts: the runtime profile, into an output directory the toolbar can copy.
  await page.fill('#capture-artifacts', `profile dir:${outDir}`);
  await page.click('#capture-start');
  await page.waitForFunction(() => !document.getElementById('capture-dialog').open);
  const live = (await apiJson('api/live')).state;
  assert.ok(['running', 'ended', 'failed'].includes(live.phase), JSON.stringify(live));
  assert.ok(live.command.includes('comm=osprlive'), live.command.join(' '));
  // The tracer is attached once the workload's events come; a tracer that cannot load ends.
  const t0 = Date.now();
  for (;;) {
    runWorkload(1);
    const st = await apiJson('api/live');
    if (st.state.phase !== 'running') {
      const log = (await apiJson('api/live/log')).lines.join('\n');
      if (!requireBpf && /BPF|bpf|permission|not permitted/i.test(log)) {
        console.log(`# SKIP: the tracer could not load its BPF programs:\n${log}`);
        await finish(0);
      }
      throw new Error(`the tracer ended: ${JSON.stringify(st.state)}\n${log}`);
    }
    if ((await apiJson('api/status')).index.frames > 0) break;
    assert.ok(Date.now() - t0 < 60_000, 'no event of the workload within 60 s');
    await sleep(300);
  }
  tracerPid = (await apiJson('api/live')).state.pid;
  assert.ok(tracerPid > 0);
  tracerPrograms = bpfProgramsOf(tracerPid);
  assert.ok(tracerPrograms.size > 0, 'the tracer holds BPF programs');
  running = true;
  await page.waitForFunction(() => document.getElementById('live-state').dataset.phase === 'running');
});

await test('the list grows and follows the newest rows', async () => {
  assert.ok(running);
  const before = await displayed();
  // Enough runs that the rows overflow the first screen, whatever the events of each run.
  runWorkload(30);
  await page.waitForFunction((n) => Number(document.getElementById('status-left').dataset.displayed) > n + 50, before, { timeout: 20_000 });
  assert.ok(await following());
  // The last row of the capture is on screen.
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('.row[data-number]')];
    return rows.length > 0 && Number(rows.at(-1).dataset.offset) === Number(document.getElementById('status-left').dataset.displayed) - 1;
  }, null, { timeout: 10_000 });
  const t = await tail();
  assert.ok(t.total > 40 && t.scrollTop > 0, JSON.stringify(t));
  // Every event is the workload's.
  const names = await page.$$eval('.row[data-number]', (rs) => rs.map((r) => r.children[6].textContent));
  assert.ok(names.every((n) => n === 'osprlive'), names.join(','));
  await page.screenshot({ path: join(shots, 'live.png') });
  // The picture for docs/ui.md: an exec event selected (its detail tree and JSON shown).
  await page.click('.row[data-number]:has(.c:text-is("sched_process_exec"))');
  await page.waitForSelector('#tree .node, #tree div');
  await page.setViewportSize({ width: 1100, height: 620 });
  await sleep(300);
  await page.screenshot({ path: join(shots, 'view-live.png') });
  await page.setViewportSize({ width: 1400, height: 900 });
});

await test('scrolling up pauses auto-scroll; the bottom resumes it', async () => {
  assert.ok(running);
  await page.hover('#list-scroll');
  await page.mouse.wheel(0, -300);
  await page.waitForFunction(() => document.getElementById('live-follow').dataset.follow === 'false');
  // A wheel scroll may be animated: where it ends is where the user put the list.
  await settled();
  const held = await tail();
  runWorkload(5);
  await page.waitForFunction((n) => Number(document.getElementById('status-left').dataset.displayed) > n, held.total, { timeout: 20_000 });
  await sleep(500);
  const after = await tail();
  assert.equal(after.scrollTop, held.scrollTop, 'the list stays where the user put it');
  assert.ok(after.lastShown < after.total - 1, JSON.stringify(after));
  // Back at the bottom: following again.
  await page.mouse.wheel(0, 1_000_000);
  await page.waitForFunction(() => document.getElementById('live-follow').dataset.follow === 'true');
  const n = await displayed();
  runWorkload(3);
  await page.waitForFunction((n) => Number(document.getElementById('status-left').dataset.displayed) > n, n, { timeout: 20_000 });
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll('.row[data-number]')];
    return rows.length > 0 && Number(rows.at(-1).dataset.offset) === Number(document.getElementById('status-left').dataset.displayed) - 1;
  }, null, { timeout: 10_000 });
});

await test('Pause display holds the list while the capture goes on', async () => {
  assert.ok(running);
  await page.click('#live-pause');
  const held = await displayed();
  const frames = (await apiJson('api/status')).index.frames;
  runWorkload(3);
  for (let i = 0; (await apiJson('api/status')).index.frames === frames; i++) {
    assert.ok(i < 100, 'the capture goes on');
    await sleep(100);
  }
  await sleep(300);
  assert.equal(await displayed(), held);
  await page.click('#live-pause');
  await page.waitForFunction((n) => Number(document.getElementById('status-left').dataset.displayed) > n, held);
});

await test('a filter applies to events that arrive after it', async () => {
  assert.ok(running);
  const filter = 'tracee.eventName == "sched_process_exec"';
  await page.fill('#filter', filter);
  await page.waitForSelector('#filter-wrap.ok');
  await page.press('#filter', 'Enter');
  // The count of the filter's view (the status shows its share of the frames), not the
  // unfiltered one still shown until the view is made.
  await page.waitForFunction(() => {
    const s = document.getElementById('status-left');
    return /Displayed: [\d,]+ \(/.test(s.textContent) && Number(s.dataset.displayed) > 0;
  });
  const before = await displayed();
  runWorkload(6);
  await page.waitForFunction((n) => Number(document.getElementById('status-left').dataset.displayed) >= n + 6, before, { timeout: 20_000 });
  await page.waitForFunction(() => document.querySelectorAll('.row.loading').length === 0);
  const events = await page.$$eval('.row[data-number]', (rs) => rs.map((r) => r.children[8].textContent));
  assert.ok(events.length > 0 && events.every((e) => e === 'sched_process_exec'), events.join(','));
  const view = await apiJson(`api/views?filter=${encodeURIComponent(filter)}`);
  assert.equal(view.done, false, 'the view of a running capture goes on');
  assert.ok(view.matched >= before + 6);
  await page.click('#clear');
});

await test('the log shows the tracer being run', async () => {
  assert.ok(running);
  await page.click('#live-log');
  await page.waitForFunction(() => /osprey view: running .* trace/.test(document.getElementById('log-text').textContent));
  await page.click('#log-close');
});

await test('Copy output path copies the capture\'s output directory', async () => {
  assert.ok(running);
  assert.equal(await page.$eval('#live-fetch', (b) => b.hidden), true, 'Fetch output is for ssh:// only');
  assert.equal(await page.$eval('#live-copy-dir', (b) => b.disabled), false);
  await page.click('#live-copy-dir');
  await page.waitForFunction((dir) => document.getElementById('status-msg').textContent === `Copied: ${dir}`, outDir);
});

await test('Stop ends the tracer: no process, none of its BPF programs', async () => {
  assert.ok(running);
  assert.ok(existsSync(`/proc/${tracerPid}`));
  await page.click('#live-stop');
  // The tracer completes its files and detaches its programs: a while on a busy machine.
  await page.waitForFunction(() => document.getElementById('live-state').dataset.phase === 'ended', null, { timeout: 60_000 });
  const st = (await apiJson('api/live')).state;
  const log = (await apiJson('api/live/log')).lines.join('\n');
  assert.equal(st.exit, 0, `${JSON.stringify(st)}\n${log}`);
  assert.equal(st.pid, null);
  assert.ok(!existsSync(`/proc/${tracerPid}`), 'the tracer process is gone');
  const left = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(' trace ') && l.includes('osprey-view-live-'));
  assert.deepEqual(left, []);
  // The kernel frees a program after an RCU grace period: it may be listed a moment longer.
  let still = [];
  for (let i = 0; i < 50; i++) {
    const loaded = loadedPrograms();
    still = [...tracerPrograms].filter((id) => loaded.has(id));
    if (still.length === 0) break;
    await sleep(100);
  }
  const names = still.length ? execFileSync('bpftool', ['prog', 'show'], { encoding: 'utf8' }) : '';
  assert.deepEqual(still, [], `the tracer detached every program it loaded; loaded now:\n${names}`);
  // The index is complete: sorting and the download work now.
  await page.waitForFunction(() => document.getElementById('status-left').dataset.complete === 'true');
  assert.equal(await page.$eval('#live-download', (b) => b.disabled), false);
  // The capture's artifacts are in the output directory the toolbar named.
  assert.ok(existsSync(join(outDir, 'out', 'tracee.profile')), 'the runtime profile was written');
  const frames = (await apiJson('api/status')).index.frames;
  // Download: the captured events as Tracee JSON, one line each.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#live-download')]);
  const saved = join(scratch, 'downloaded.json');
  await download.saveAs(saved);
  const lines = readFileSync(saved, 'utf8').split('\n').filter(Boolean);
  assert.equal(lines.length, frames);
  assert.ok(lines.every((l) => JSON.parse(l).processName === COMM));
  runWorkload(2);
  await sleep(500);
  assert.equal((await apiJson('api/status')).index.frames, frames, 'nothing is added after Stop');
});

await test('the capture\'s artifacts are listed in the artifacts browser', async () => {
  assert.ok(running);
  // The runtime profile is written as the tracer ends: the browser lists it from the output
  // directory (the live capture's own, not an input given on the command line).
  await page.click('#analyze');
  await page.click('#menu > .mi[data-label="Captured Artifacts…"]');
  await page.waitForSelector('#artifacts-table tbody tr');
  const rows = await page.$$eval('#artifacts-table tbody tr', (rs) => rs.map((r) => ({
    kind: r.children[1].textContent, path: r.children[2].textContent, sha: r.children[6].textContent,
  })));
  const profile = rows.find((r) => r.kind === 'profile');
  assert.ok(profile, JSON.stringify(rows));
  const onDisk = createHash('sha256').update(readFileSync(join(outDir, 'out', profile.path))).digest('hex');
  assert.equal(profile.sha, onDisk);
  await page.click('#panel-artifacts .panel-close');
});

await test('no script error', async () => {
  assert.deepEqual(pageErrors, []);
});

await finish();
