// End-to-end test of the artifacts browser, marks, notes and the investigation report of
// `osprey view`, in Debian's chromium driven by playwright-core (no browser download). Two
// capture directories are made by real `osprey trace --capture` runs (root and BPF needed, as
// for the capture tests) of a small workload: a file written with a hostile name in its
// content, a copied binary run (different content in the two runs: the profile diff shows it
// changed), UDP packets on lo (a per-process pcap), and `ls` in the second run only (new). The
// test checks what a user sees against the files on disk, their index and the CLI.
// Screenshots go to target/view-screenshots/.

import { spawnSync } from 'node:child_process';
import { mkdirSync, existsSync, readFileSync, readdirSync, copyFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, dirname } from 'node:path';
import assert from 'node:assert/strict';
import {
  bin, shots, scratchDir, test, serve, apiUrl, apiJson, readFrames, launch, finish,
} from './harness.mjs';


const scratch = scratchDir('osprey-art-');
const HOSTILE = '<img src=x onerror=alert(1)>';
const HOSTILE_NOTE = 'note </td><script>alert("n")</script> & <b>bold</b>';


const sha256 = (b) => createHash('sha256').update(b).digest('hex');

/** Every regular file under `dir` with its SHA-256 (the recording, to check it is untouched). */
function treeHash(dir) {
  const out = {};
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p); else if (e.isFile()) out[p] = sha256(readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

/** A capture directory from a real `osprey trace --capture` of a small workload. */
function capture(name, payload, extra) {
  const dir = join(scratch, name);
  const work = join(scratch, `${name}w`);
  mkdirSync(dir);
  mkdirSync(work);
  copyFileSync(payload, join(work, 'suspect'));
  const py = 'import socket; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); r=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); r.bind(("127.0.0.1",0)); [s.sendto(b"ping%d"%i, r.getsockname()) for i in range(3)]; r.recv(100)';
  const script = `printf '%s' '${HOSTILE}' > ${work}/hostile.txt; ${work}/suspect; /usr/bin/python3 -c '${py}'; ${extra}`;
  const r = spawnSync(bin, ['trace', '-q', '-o', 'json:/dev/null', '--capture', 'exec', '--capture', `write=${work}/*`,
    '--capture', 'profile', '--capture', 'net=lo', '--capture', 'pcap:per-process', '--capture', `dir:${dir}`,
    '--', '/bin/sh', '-c', script], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, `osprey trace --capture: ${r.stderr}`);
  const index = readFileSync(join(dir, 'out/artifacts.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
  return { dir, work, index };
}



const t0 = Date.now();
const A = capture('old', '/bin/true', 'true');
const B = capture('new', '/bin/false', 'ls / > /dev/null');
console.log(`# two capture directories traced in ${Date.now() - t0} ms (${A.index.length} and ${B.index.length} artifacts)`);
const inputs = [A.dir, B.dir];
const before = { ...treeHash(A.dir), ...treeHash(B.dir) };

const { context, page, outside, pageErrors } = await launch();
// The sidecars beside the capture directories (in the scratch directory) are what is tested.
const url = await serve(inputs, { sidecar: true });

async function waitComplete() {
  await page.waitForFunction(() => document.getElementById('status-left')?.dataset.complete === 'true', null, { timeout: 60_000 });
}
async function applyFilter(filter) {
  await page.fill('#filter', filter);
  await page.press('#filter', 'Enter');
  await waitComplete();
  const expect = readFrames(inputs, filter);
  await page.waitForFunction((n) => document.getElementById('status-left').dataset.displayed === String(n), expect.length);
  return expect;
}
async function openArtifacts() {
  await page.click('#analyze');
  await page.click('#menu > .mi[data-label="Captured Artifacts…"]');
  await page.waitForSelector('#artifacts-table tbody tr');
}
const idOf = (dirIdx, rec) => `${dirIdx}/${[A, B][dirIdx].index.indexOf(rec)}`;

await test('every artifact of both indexes is listed; filter and sort', async () => {
  await page.goto(url);
  await page.waitForSelector('.row[data-number="1"]');
  await waitComplete();
  await openArtifacts();
  const ids = await page.$$eval('#artifacts-table tbody tr', (rs) => rs.map((r) => r.dataset.id));
  const want = [...A.index.map((_, i) => `0/${i}`), ...B.index.map((_, i) => `1/${i}`)];
  assert.deepEqual(ids, want);
  const paths = await page.$$eval('#artifacts-table tbody tr', (rs) => rs.map((r) => r.children[2].textContent));
  assert.deepEqual(paths, [...A.index, ...B.index].map((a) => a.path));
  const hashes = await page.$$eval('#artifacts-table tbody tr', (rs) => rs.map((r) => r.children[6].textContent));
  assert.deepEqual(hashes, [...A.index, ...B.index].map((a) => a.sha256));
  for (const kind of ['exec', 'write', 'pcap', 'profile']) assert.ok(A.index.some((a) => a.kind === kind), `a ${kind} artifact in the capture`);
  await page.fill('#artifacts-filter', 'pcap');
  const kinds = await page.$$eval('#artifacts-table tbody tr', (rs) => rs.map((r) => r.children[1].textContent));
  assert.ok(kinds.length >= 2 && kinds.every((k) => k === 'pcap'), JSON.stringify(kinds));
  await page.fill('#artifacts-filter', '');
  await page.click('#artifacts-table th[data-col="5"]');
  const sizes = await page.$$eval('#artifacts-table tbody tr', (rs) => rs.map((r) => Number(r.children[5].textContent)));
  assert.deepEqual(sizes, [...sizes].sort((a, b) => a - b));
  await page.click('#artifacts-table th[data-col="5"]');
  const down = await page.$$eval('#artifacts-table tbody tr', (rs) => rs.map((r) => Number(r.children[5].textContent)));
  assert.deepEqual(down, [...sizes].reverse().sort((a, b) => b - a));
  await page.click('#artifacts-table th[data-col="0"]');
});

await test('download of an artifact: its bytes hash to the file on disk and the index', async () => {
  const rec = A.index.find((a) => a.kind === 'exec' && a.original_path.endsWith('/suspect'));
  assert.ok(rec, 'the suspect binary was captured');
  await page.click(`#artifacts-table tbody tr[data-id="${idOf(0, rec)}"]`);
  await page.waitForSelector('#artifact-hex');
  assert.equal(await page.textContent('#artifact-sha256'), rec.sha256);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#artifact-download')]);
  const got = readFileSync(await download.path());
  const onDisk = readFileSync(join(A.dir, 'out', rec.path));
  assert.equal(sha256(got), sha256(onDisk));
  assert.equal(sha256(got), rec.sha256);
  assert.equal(sha256(got), sha256(readFileSync('/bin/true')));
  // The hex preview: the file's first KiB.
  const hex = await page.$eval('#artifact-hex', (p) => p.dataset.hex);
  assert.equal(hex, [...onDisk.subarray(0, 1024)].map((b) => b.toString(16).padStart(2, '0')).join(' '));
  await page.screenshot({ path: join(shots, 'artifacts-browser-page.png') });
  await page.locator('#panel-artifacts').screenshot({ path: join(shots, 'artifacts-browser.png') });
});

await test('a per-process pcap: its packets are in the list, "Show packets" filters to them', async () => {
  const rec = A.index.find((a) => a.kind === 'pcap');
  await page.click(`#artifacts-table tbody tr[data-id="${idOf(0, rec)}"]`);
  await page.waitForSelector('#artifact-in-list');
  await page.click('#artifact-in-list');
  const filter = `frame.file == "${join(A.dir, 'out', rec.path)}"`;
  await page.waitForFunction((f) => document.getElementById('filter').value === f, filter);
  await waitComplete();
  const expect = readFrames(inputs, filter);
  assert.ok(expect.length >= 3, `packets of the pcap: ${expect.length}`);
  await page.waitForFunction((n) => document.getElementById('status-left').dataset.displayed === String(n), expect.length);
  const protos = await page.$$eval('.row[data-number]', (rs) => rs.map((r) => r.children[2].textContent));
  assert.ok(protos.every((p) => p === 'UDP'), JSON.stringify(protos));
  // And back: a packet's row menu opens its pcap.
  await page.click('#panel-artifacts .panel-close');
  await page.click(`.row[data-number="${expect[0]}"]`, { button: 'right' });
  await page.click('#menu > .mi[data-label="Show captured artifact"]');
  await page.waitForFunction((p) => document.getElementById('artifact-path')?.textContent === p, `pcap ${rec.path}`);
});

await test('the runtime profile as a table, equal to the profile file', async () => {
  await page.click('#artifacts-profile');
  await page.waitForSelector('#profile-table tr td');
  const rows = await page.$$eval('#profile-table tr', (rs) => rs.slice(1).map((r) => [...r.children].map((c) => c.textContent)));
  const file = JSON.parse(readFileSync(join(A.dir, 'out/tracee.profile'), 'utf8'));
  assert.deepEqual(rows.map((r) => [r[0], Number(r[2]), r[3]]), Object.entries(file).map(([k, v]) => [k, v.times, v.file_hash]));
  await page.click('#panel-artifacts-profile .panel-close');
});

await test('profile diff of the two directories: what `osprey profile diff` reports', async () => {
  await page.click('#artifacts-diff');
  await page.waitForSelector('#diff-table tr td');
  const rows = await page.$$eval('#diff-table tr', (rs) => rs.slice(1).map((r) => [r.children[0].textContent, r.children[1].textContent]));
  const cli = spawnSync(bin, ['profile', 'diff', join(A.dir, 'out/tracee.profile'), join(B.dir, 'out/tracee.profile')], { encoding: 'utf8' });
  assert.equal(cli.status, 1, 'something new ran');
  const lines = cli.stdout.trim().split('\n');
  const cliRows = lines.slice(0, -1).map((l) => { const m = l.match(/^(\w+)\s+(\S+)/); return [m[1], m[2]]; });
  assert.deepEqual(rows, cliRows);
  assert.ok(rows.some(([c, n]) => c === 'changed' && n === 'host/exec.suspect'), JSON.stringify(rows));
  assert.ok(rows.some(([c, n]) => c === 'new' && n === 'host/exec.ls'), JSON.stringify(rows));
  assert.equal(await page.textContent('#diff-verdict'), lines[lines.length - 1]);
  await page.locator('#panel-artifacts-diff').screenshot({ path: join(shots, 'artifacts-diff.png') });
  await page.click('#panel-artifacts-diff .panel-close');
  await page.click('#panel-artifacts .panel-close');
});

// The magic_write of hostile.txt and the exec of the suspect binary, in the first directory.
const writeFrame = readFrames(inputs, `tracee.eventName == "magic_write" && tracee.args.magic_write.pathname == "${A.work}/hostile.txt"`)[0];
const execFrame = readFrames(inputs, `tracee.eventName == "sched_process_exec" && tracee.args.sched_process_exec.pathname == "${A.work}/suspect"`)[0];

async function selectFrame(n) {
  await applyFilter(`frame.number == ${n}`);
  await page.click(`.row[data-number="${n}"]`);
  await page.waitForFunction((n) => document.getElementById('detail-title').textContent.startsWith(`Frame ${n} `), n);
}

await test('pivot: from a magic_write field and an exec row to their captured artifacts', async () => {
  assert.ok(writeFrame && execFrame, `frames ${writeFrame} ${execFrame}`);
  await selectFrame(writeFrame);
  await page.click('#tree .node', { button: 'right' });
  await page.click('#menu > .mi[data-label="Show captured artifact"]');
  const w = A.index.find((a) => a.kind === 'write' && a.original_path === `${A.work}/hostile.txt`);
  await page.waitForFunction((p) => document.getElementById('artifact-path')?.textContent === p, `write ${w.path}`);
  assert.equal(await page.textContent('#artifact-sha256'), w.sha256);
  assert.equal(await page.$eval('#artifacts-table tr.sel', (r) => r.dataset.id), idOf(0, w));
  await page.click('#panel-artifacts .panel-close');
  await selectFrame(execFrame);
  await page.click(`.row[data-number="${execFrame}"]`, { button: 'right' });
  await page.click('#menu > .mi[data-label="Show captured artifact"]');
  const x = A.index.find((a) => a.kind === 'exec' && a.original_path === `${A.work}/suspect`);
  await page.waitForFunction((p) => document.getElementById('artifact-path')?.textContent === p, `exec ${x.path}`);
  await page.click('#panel-artifacts .panel-close');
});

let notesPath = '';
await test('marks and a note survive a reload; the sidecar is written, the recording untouched', async () => {
  await selectFrame(execFrame);
  await page.click(`.row[data-number="${execFrame}"]`, { button: 'right' });
  await page.click('#menu > .mi[data-label="Mark Frame"]');
  await page.click(`.row[data-number="${execFrame}"]`, { button: 'right' });
  await page.click('#menu > .mi[data-label="Add note…"]');
  await page.fill('#note-edit', HOSTILE_NOTE);
  await page.click('#note-save');
  await page.waitForFunction(() => document.getElementById('note-text')?.textContent);
  assert.equal(await page.textContent('#note-text'), HOSTILE_NOTE);
  await selectFrame(writeFrame);
  await page.keyboard.press('Control+m');
  await page.waitForFunction(() => document.getElementById('status-left').dataset.marked === '2');
  await page.waitForFunction(() => document.body.dataset.notesSaved);
  await page.waitForTimeout(400);
  const saved = await apiJson(url, 'api/notes');
  notesPath = saved.path;
  assert.ok(notesPath && existsSync(notesPath), `sidecar ${notesPath}`);
  assert.equal(dirname(notesPath), scratch, 'beside the first directory');
  const side = JSON.parse(readFileSync(notesPath, 'utf8'));
  assert.deepEqual(side.marks, [writeFrame, execFrame].sort((a, b) => a - b));
  assert.equal(side.notes[String(execFrame)], HOSTILE_NOTE);
  await page.reload();
  await page.waitForSelector('.row[data-number]');
  await waitComplete();
  await page.waitForFunction(() => document.getElementById('status-left').dataset.marked === '2');
  await selectFrame(execFrame);
  assert.ok(await page.$eval(`.row[data-number="${execFrame}"]`, (r) => r.classList.contains('marked')));
  await page.waitForFunction(() => document.getElementById('note-text')?.textContent);
  assert.equal(await page.textContent('#note-text'), HOSTILE_NOTE);
  assert.equal(await page.$$eval('#note-view script, #note-view b', (x) => x.length), 0);
  const after = { ...treeHash(A.dir), ...treeHash(B.dir) };
  assert.deepEqual(after, before, 'the recording is untouched');
  await page.setViewportSize({ width: 1100, height: 620 });
  await page.waitForTimeout(200);
  await page.screenshot({ path: join(shots, 'notes-detail.png') });
  await page.setViewportSize({ width: 1400, height: 900 });
});

await test('the investigation report: marked frames, notes, ancestry and hashes; hostile strings as text', async () => {
  // The shell's exec too: its command line (in the Info column) holds the hostile string.
  const shFrame = readFrames(inputs, `tracee.eventName == "sched_process_exec" && tracee.processName == "sh"`)[0]; // the first directory is the earlier
  assert.ok(shFrame, 'the shell exec');
  await selectFrame(shFrame);
  await page.keyboard.press('Control+m');
  await page.waitForFunction(() => document.getElementById('status-left').dataset.marked === '3');
  const marked = [shFrame, writeFrame, execFrame].sort((a, b) => a - b);
  await page.fill('#filter', '');
  await page.press('#filter', 'Enter');
  await waitComplete();
  await page.click('#analyze');
  await page.click('#menu > .mi[data-label="Investigation Report…"]');
  await page.waitForSelector('#report-list li');
  const listed = await page.$$eval('#report-list li', (ls) => ls.map((l) => Number(l.dataset.frame)));
  assert.deepEqual(listed, marked);
  await page.screenshot({ path: join(shots, 'report-panel.png') });
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click('#report-html')]);
  const html = readFileSync(await dl.path(), 'utf8');
  const [dlm] = await Promise.all([page.waitForEvent('download'), page.click('#report-md')]);
  const md = readFileSync(await dlm.path(), 'utf8');
  const w = A.index.find((a) => a.kind === 'write' && a.original_path === `${A.work}/hostile.txt`);
  const x = A.index.find((a) => a.kind === 'exec' && a.original_path === `${A.work}/suspect`);
  for (const text of [html, md]) {
    assert.ok(text.includes(w.sha256) && text.includes(x.sha256), 'the artifacts\' hashes');
    assert.ok(text.includes(String(writeFrame)) && text.includes(String(execFrame)));
  }
  assert.ok(!md.includes('<script>') && !md.includes('<img'), 'Markdown escapes HTML');
  // Open the HTML report: no element injected, the hostile strings are text.
  const view = await context.newPage();
  await view.setContent(html);
  assert.equal(await view.$$eval('script, img, b', (x) => x.length), 0);
  const text = await view.evaluate(() => document.body.textContent);
  assert.ok(text.includes(HOSTILE_NOTE), 'the note as text');
  assert.ok(text.includes(HOSTILE), 'the hostile event string as text');
  const frames = await view.$$eval('tr[data-frame]', (rs) => rs.map((r) => Number(r.dataset.frame)));
  assert.deepEqual(frames, marked);
  // Each frame's row: the list's cells (as the API gives them), then its note.
  for (const n of marked) {
    const cells = (await apiJson(url, `api/rows?filter=${encodeURIComponent(`frame.number == ${n}`)}`)).rows[0].cells;
    const got = await view.$eval(`tr[data-frame="${n}"]`, (r) => [...r.children].map((c) => c.textContent));
    assert.deepEqual(got.slice(1, -1), cells, `frame ${n}`);
    assert.equal(got[got.length - 1], n === execFrame ? HOSTILE_NOTE : '');
  }
  assert.ok((await view.$eval(`tr[data-frame="${shFrame}"]`, (r) => r.textContent)).includes(HOSTILE));
  // Ancestry: the suspect's chain ends at its process, from the process tree view.
  const procs = await view.$$eval('li', (ls) => ls.map((l) => l.textContent));
  const pid = x.process.hostProcessId;
  assert.ok(procs.some((p) => p.startsWith(`host pid ${pid}: `) && p.includes(' → ') && p.split(' → ').pop().startsWith(`${pid} (suspect)`)), JSON.stringify(procs));
  await view.setViewportSize({ width: 1100, height: 620 });
  await view.screenshot({ path: join(shots, 'report-html.png') });
  await view.close();
});

await test('API: unknown ids are 404, a file outside the index is never served', async () => {
  const get = async (p) => (await fetch(apiUrl(url, p))).status;
  assert.equal(await get('api/artifacts/0/99999/file'), 404);
  assert.equal(await get('api/artifacts/7/0/file'), 404);
  assert.equal(await get('api/artifacts/0/..%2F..%2Fetc%2Fpasswd/file'), 404);
  assert.equal(await get('api/artifacts/x/0/head'), 404);
});

await test('nothing was fetched from outside the binary, no script error', async () => {
  assert.deepEqual(outside, []);
  assert.deepEqual(pageErrors, []);
});

await finish();
