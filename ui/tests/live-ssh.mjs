// End-to-end test of `osprey view --live ssh://` in Debian's chromium (playwright-core, as
// tests/live.mjs): an OpenSSH server started here on loopback with keys generated for the test
// (as tests/remote.rs does), a real remote trace, and the toolbar's Fetch output: the remote
// output directory copied over SFTP into a new folder while the capture goes on, the folder
// named in the status bar and by Copy output path, then Stop.
//
// Needs root (the tracer, sshd) and /usr/sbin/sshd: without them the test skips, unless
// OSPREY_REQUIRE_BPF=1 (CI), which makes that a failure.

import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, existsSync, readFileSync, writeFileSync, copyFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, Socket } from 'node:net';
import assert from 'node:assert/strict';
import {
  bin, scratchDir, test, serveChild, launch, finish, sleep, needRoot, onFinish, apiJson as apiJsonOf,
} from './harness.mjs';

needRoot('live ssh', existsSync('/usr/sbin/sshd'));

const scratch = scratchDir('osprey-live-ssh-test-');
const COMM = 'osprfetchui';
const workload = join(scratch, COMM);
copyFileSync('/bin/true', workload);
execFileSync('chmod', ['755', workload]);
const remoteDir = join(scratch, 'remote-out');
const copies = join(scratch, 'copies');

// The SSH server: host and user keys of the test's own, on a free loopback port.
for (const k of ['host', 'user']) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(scratch, k)]);
copyFileSync(join(scratch, 'user.pub'), join(scratch, 'authorized_keys'));
const port = await new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
});
writeFileSync(join(scratch, 'sshd_config'), [
  `Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${join(scratch, 'host')}`,
  `AuthorizedKeysFile ${join(scratch, 'authorized_keys')}`, 'PermitRootLogin prohibit-password',
  'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'UsePAM no', 'StrictModes no',
  `PidFile ${join(scratch, 'sshd.pid')}`, 'Subsystem sftp internal-sftp', '',
].join('\n'));
mkdirSync('/run/sshd', { recursive: true });
const sshd = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(scratch, 'sshd_config')], { stdio: 'ignore' });
onFinish(() => sshd.kill('SIGTERM'));
writeFileSync(join(scratch, 'known_hosts'), `[127.0.0.1]:${port} ${readFileSync(join(scratch, 'host.pub'), 'utf8').trim()}\n`);


// sshd listens once its port takes a connection.
for (let i = 0; i < 100; i++) {
  const up = await new Promise((resolve) => {
    const c = new Socket().once('error', () => resolve(false));
    c.connect(port, '127.0.0.1', () => { c.destroy(); resolve(true); });
  });
  if (up) break;
  await sleep(50);
}

const { url: serving } = serveChild(['--live', `ssh://root@127.0.0.1:${port}`, '--',
  '--identity', join(scratch, 'user'), '--known-hosts', join(scratch, 'known_hosts'), '--remote-osprey', bin,
  '-e', 'sched_process_exec', '--scope', `comm=${COMM}`, '--capture', 'profile', '--capture', `dir:${remoteDir}`,
  '--remote-copy', copies]);
const url = await serving;
const apiJson = (path) => apiJsonOf(url, path);

const { page, pageErrors } = await launch();
let running = false;

await test('the remote capture runs and its events come', async () => {
  await page.goto(url);
  const t0 = Date.now();
  for (;;) {
    execFileSync(workload);
    const st = (await apiJson('api/live')).state;
    if (st.phase !== 'running') {
      const log = (await apiJson('api/live/log')).lines.join('\n');
      throw new Error(`the capture ended: ${JSON.stringify(st)}\n${log}`);
    }
    if ((await apiJson('api/status')).index.frames > 0) break;
    assert.ok(Date.now() - t0 < 60_000, 'no event of the workload within 60 s');
    await sleep(300);
  }
  await page.waitForFunction(() => document.getElementById('live-state').dataset.phase === 'running');
  running = true;
});

await test('Fetch output copies the remote output directory while the capture goes on', async () => {
  assert.ok(running);
  assert.equal(await page.$eval('#live-fetch', (b) => b.hidden), false, 'shown for ssh://');
  // No local output directory: Copy output path waits for a fetch.
  assert.equal(await page.$eval('#live-copy-dir', (b) => b.disabled), true);
  appendFileSync(join(remoteDir, 'note.txt'), 'fetched from the UI\n');
  await page.click('#live-fetch');
  await page.waitForFunction(() => document.getElementById('status-msg').textContent.startsWith('Output fetched to '), null, { timeout: 60_000 });
  const msg = await page.textContent('#status-msg');
  const st = (await apiJson('api/live')).state;
  assert.equal(st.phase, 'running', 'the capture goes on');
  assert.equal(st.copies.length, 1, JSON.stringify(st));
  const folder = st.copies[0].path;
  assert.ok(msg.includes(folder), msg);
  assert.ok(folder.startsWith(`${copies}/127.0.0.1-`), folder);
  assert.equal(readFileSync(join(folder, 'note.txt'), 'utf8'), 'fetched from the UI\n');
  assert.equal(await page.$eval('#live-fetch', (b) => b.disabled), false, 'another fetch can be asked');
  // Copy output path now names that folder.
  assert.equal(await page.$eval('#live-copy-dir', (b) => b.disabled), false);
  await page.click('#live-copy-dir');
  const shown = folder.length > 80 ? folder.slice(0, 80) + '…' : folder;
  await page.waitForFunction((t) => document.getElementById('status-msg').textContent === `Copied: ${t}`, shown);
  // Events still come.
  const before = (await apiJson('api/status')).index.frames;
  const t0 = Date.now();
  while ((await apiJson('api/status')).index.frames <= before) {
    execFileSync(workload);
    assert.ok(Date.now() - t0 < 60_000, 'no event after the fetch');
    await sleep(300);
  }
});

await test('the log shows the remote tracer and the copy', async () => {
  await page.click('#live-stop');
  await page.waitForFunction(() => document.getElementById('live-state').dataset.phase === 'ended', null, { timeout: 60_000 });
  await page.click('#live-log');
  await page.waitForFunction(() => /\nremote: /.test(document.getElementById('log-text').textContent));
  const log = await page.textContent('#log-text');
  assert.match(log, /osprey: --remote: copy done \{/);
  await page.click('#log-close');
  assert.equal(await page.$eval('#live-fetch', (b) => b.disabled), true, 'nothing to fetch once stopped');
  // --remote-copy: one more copy at stop.
  const st = (await apiJson('api/live')).state;
  assert.equal(st.copies.length, 2, `${JSON.stringify(st)}\n${log}`);
});

await test('no script error', async () => {
  assert.deepEqual(pageErrors, []);
});

await finish();
