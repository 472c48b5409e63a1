// End-to-end test of `osprey view` in Debian's chromium, driven by playwright-core (no browser
// download). It starts the real binary on the repository's fixtures and on a generated
// recording of many events, and checks what a user sees: rows with the profile's columns and
// colors, a filter whose row count equals `osprey read -Y`, the detail tree, the exact bytes of
// a selected field highlighted, hostile strings shown as text, and a scroll to the last row.
// Screenshots go to target/view-screenshots/.
//
// OSPREY_BIN picks the binary (default: target/release/osprey if built, else target/debug);
// OSPREY_VIEW_TEST_EVENTS the size of the generated recording (default 1,000,000).

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, createWriteStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = process.env.OSPREY_BIN
  ?? [join(root, 'target/release/osprey'), join(root, 'target/debug/osprey')].find(existsSync);
assert.ok(bin && existsSync(bin), 'build osprey first (cargo build -p osprey)');
const DOCS = join(root, 'tests/fixtures/tracee/tracee-docs-v0.23.jsonl');
const ACTION = join(root, 'tests/fixtures/tracee/tracee-action-trace.jsonl');
const shots = join(root, 'target/view-screenshots');
mkdirSync(shots, { recursive: true });
const EVENTS = Number(process.env.OSPREY_VIEW_TEST_EVENTS ?? 1_000_000);

let passed = 0;
let failed = 0;
const children = [];
const scratch = mkdtempSync(join(tmpdir(), 'osprey-view-test-'));

async function test(name, fn) {
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

/** Starts `osprey view --no-browser --port 0 FILES` and returns its URL. */
function serve(files) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['view', '--no-browser', '--port', '0', ...files], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/^(http:\/\/127\.0\.0\.1:\d+\/)\n/);
      if (m) resolve(m[1]);
    });
    child.on('exit', (code) => reject(new Error(`osprey view exited with ${code}`)));
  });
}

/** The frames `osprey read -Y FILTER` prints, as numbers. */
function readFrames(files, filter) {
  const args = ['read', '-q', '-T', 'fields', '-e', 'frame.number', '-Y', filter];
  for (const f of files) args.push('-r', f);
  const out = execFileSync(bin, args, { encoding: 'utf8', maxBuffer: 1 << 28 });
  return out.split('\n').filter(Boolean).map(Number);
}

/** Writes `n` Tracee events built from a fixture line (with a few hostile strings). */
async function generate(path, n) {
  const base = JSON.parse(readFileSync(DOCS, 'utf8').split('\n')[0]);
  const hostile = [
    '<img src=x onerror="window.__pwned=1">',
    '<script>window.__pwned=2</script>',
    'javascript:window.__pwned=3',
    '\u202eevil\u202c',
    'A'.repeat(5000),
  ];
  const out = createWriteStream(path);
  const t0 = 1_700_000_000_000_000_000n;
  for (let i = 0; i < n; i++) {
    const e = { ...base };
    e.timestamp = `${t0 + BigInt(i) * 1000n}`;
    e.processId = 1000 + (i % 500);
    e.processName = i < hostile.length ? hostile[i] : `proc${i % 97}`;
    e.args = [
      { name: 'pathname', type: 'const char*', value: i < hostile.length ? hostile[i] : `/tmp/file${i}` },
      { name: 'flags', type: 'string', value: 'O_RDONLY' },
    ];
    e.argsNum = 2;
    let line = JSON.stringify(e).replace(`"timestamp":"${e.timestamp}"`, `"timestamp":${e.timestamp}`);
    if (!out.write(line + '\n')) await new Promise((r) => out.once('drain', r));
  }
  await new Promise((r) => out.end(r));
}

const profileDir = mkdtempSync(join(tmpdir(), 'osprey-view-chromium-'));
const context = await chromium.launchPersistentContext(profileDir, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1400, height: 900 },
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = context.pages()[0] ?? await context.newPage();
const outside = [];
page.on('request', (r) => { if (!r.url().startsWith('http://127.0.0.1:')) outside.push(r.url()); });
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(String(e)));

const fixtures = [DOCS, ACTION];
const url = await serve(fixtures);

async function waitComplete(p, timeout = 120_000) {
  await p.waitForFunction(() => document.getElementById('status-left')?.dataset.complete === 'true', null, { timeout });
}

await test('rows render with the profile columns and colors', async () => {
  await page.goto(url);
  await page.waitForSelector('.row[data-number="1"]');
  await waitComplete(page);
  const titles = await page.$$eval('#list-head .h', (hs) => hs.map((h) => h.textContent).filter(Boolean));
  assert.deepEqual(titles.slice(0, 4), ['No.', 'Time', 'Protocol', 'Container']);
  assert.equal(titles.length, 13);
  const first = await page.$$eval('.row[data-number="1"] .c', (cs) => cs.map((c) => c.textContent));
  assert.equal(first[0], '1');
  assert.equal(first[1], '0.000000000');
  assert.equal(first[2], 'TRACEE');
  assert.equal(first[6], 'bash');
  assert.equal(first[8], 'security_file_open');
  const colored = await page.$$eval('.row[data-number]', (rs) => rs.filter((r) => r.style.backgroundColor).length);
  assert.ok(colored > 0, 'some rows are colored by the coloring rules');
  const displayed = await page.$eval('#status-left', (s) => s.dataset.displayed);
  assert.equal(Number(displayed), 102);
  await page.screenshot({ path: join(shots, 'list.png') });
});

await test('time formats switch', async () => {
  const timeOf = (n, want) => page.waitForFunction(([n, want]) =>
    document.querySelector(`.row[data-number="${n}"] .c:nth-child(2)`)?.textContent === want, [n, want], { timeout: 5000 });
  await page.selectOption('#timefmt', 'absolute');
  await timeOf(1, '2022-07-08 22:59:27.356748797');
  await page.selectOption('#timefmt', 'delta');
  await timeOf(2, '-0.000019215');
  await page.selectOption('#timefmt', 'relative');
  await timeOf(2, '-0.000019215');
  await timeOf(3, '16448146.181908948');
});

await test('a filter shows what osprey read -Y shows', async () => {
  for (const filter of ['tracee.eventName == "security_file_open"', '${important}', 'tracee.processName contains "a"']) {
    await page.fill('#filter', filter);
    await page.waitForSelector('#filter-wrap.ok');
    await page.press('#filter', 'Enter');
    await waitComplete(page);
    const expect = readFrames(fixtures, filter);
    await page.waitForFunction((n) => document.getElementById('status-left').dataset.displayed === String(n), expect.length);
    // Every row on screen has arrived.
    await page.waitForFunction(() => document.querySelectorAll('.row[data-number]').length > 0
      && document.querySelectorAll('.row.loading').length === 0);
    const shown = await page.$$eval('.row[data-number]', (rs) => rs.map((r) => Number(r.dataset.number)));
    // The list shows the view's first rows, in order.
    assert.deepEqual(shown, expect.slice(0, shown.length), filter);
    assert.ok(shown.length === Math.min(expect.length, shown.length) && shown.length > 0, filter);
  }
  await page.screenshot({ path: join(shots, 'filtered.png') });
  await page.click('#clear');
  await page.waitForFunction(() => document.getElementById('status-left').dataset.displayed === '102');
});

await test('a bad filter turns red with the error underlined', async () => {
  await page.fill('#filter', 'tracee.processName == "x" && no.such.field');
  await page.waitForSelector('#filter-wrap.bad');
  const underlined = await page.$eval('#filter-under .err', (e) => e.textContent);
  assert.equal(underlined, 'no.such.field');
  const msg = await page.$eval('#filter-error', (e) => e.textContent);
  assert.match(msg, /column 30/);
  await page.screenshot({ path: join(shots, 'bad-filter.png') });
  await page.fill('#filter', '');
  await page.press('#filter', 'Enter');
});

await test('selecting a row and a field highlights exactly its bytes', async () => {
  await page.click('.row[data-number="1"]');
  await page.waitForSelector('.node[data-field="tracee.processName"]');
  const nodes = await page.$$eval('.node', (ns) => ns.length);
  assert.ok(nodes > 40, `the detail tree has the event's fields (${nodes})`);
  const detail = await (await fetch(`${url}api/frames/1`)).json();
  const raw = new Uint8Array(await (await fetch(`${url}api/frames/1/bytes?source=json`)).arrayBuffer());
  for (const field of ['tracee.processName', 'tracee.args.security_file_open.pathname', 'tracee.processId', 'tracee.eventName']) {
    await page.click(`.node[data-field="${field}"] .t`);
    const marked = await page.$eval('#bytes-view mark', (m) => m.textContent);
    const node = detail.tree.find((n) => n.field === field);
    const expect = new TextDecoder().decode(raw.subarray(node.span.start, node.span.start + node.span.len));
    assert.equal(marked, expect, field);
    const value = node.value;
    assert.ok(marked === JSON.stringify(value) || marked === value, `${field}: ${marked} is the JSON of ${value}`);
  }
  await page.click('#collapse');
  const visible = await page.$$eval('.node', (ns) => ns.filter((n) => n.style.display !== 'none').length);
  assert.equal(visible, 2, 'collapsed: the two protocols');
  await page.click('#expand');
  await page.click('.node[data-field="tracee.args.security_file_open.pathname"] .t');
  await page.screenshot({ path: join(shots, 'detail.png') });
  // Keyboard: down selects the next frame.
  await page.focus('#list-scroll');
  await page.keyboard.press('ArrowDown');
  await page.waitForFunction(() => document.getElementById('detail-title').textContent.startsWith('Frame 2 '));
});

/** A classic pcap holding one UDP packet, 10.1.2.3:1234 -> 10.4.5.6:53. */
function udpPcap(path) {
  const payload = Buffer.from('hello');
  const eth = Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00]);
  const ipLen = 20 + 8 + payload.length;
  const ip = Buffer.from([0x45, 0, 0, ipLen, 0, 1, 0, 0, 64, 17, 0, 0, 10, 1, 2, 3, 10, 4, 5, 6]);
  const udp = Buffer.from([0x04, 0xd2, 0, 53, 0, 8 + payload.length, 0, 0]);
  const pkt = Buffer.concat([eth, ip, udp, payload]);
  const hdr = Buffer.alloc(24);
  hdr.writeUInt32LE(0xa1b2c3d4, 0); hdr.writeUInt16LE(2, 4); hdr.writeUInt16LE(4, 6);
  hdr.writeUInt32LE(65535, 16); hdr.writeUInt32LE(1, 20);
  const rec = Buffer.alloc(16);
  rec.writeUInt32LE(1_700_000_000, 0); rec.writeUInt32LE(pkt.length, 8); rec.writeUInt32LE(pkt.length, 12);
  writeFileSync(path, Buffer.concat([hdr, rec, pkt]));
}

await test('a packet shows in hex and ASCII with the field bytes highlighted', async () => {
  const pcap = join(scratch, 'udp.pcap');
  udpPcap(pcap);
  const u = await serve([pcap]);
  await page.goto(u);
  await page.click('.row[data-number="1"]');
  await page.waitForSelector('.node[data-field="ip.src"]');
  await page.click('.node[data-field="ip.src"] .t');
  const hl = await page.$$eval('.hex .hl', (s) => s.map((e) => e.textContent));
  assert.deepEqual(hl, ['0a', '01', '02', '03', '.', '.', '.', '.']);
  await page.click('.node[data-field="udp.dstport"] .t');
  const port = await page.$$eval('.hex .hl', (s) => s.map((e) => e.textContent));
  assert.deepEqual(port, ['00', '35', '.', '5']);
  await page.screenshot({ path: join(shots, 'packet.png') });
});

await test('Ctrl-G goes to a frame', async () => {
  await page.goto(url);
  await page.waitForSelector('.row[data-number="1"]');
  await waitComplete(page);
  page.once('dialog', (d) => d.accept('90'));
  await page.keyboard.press('Control+g');
  await page.waitForFunction(() => document.getElementById('detail-title').textContent.startsWith('Frame 90 '));
  await page.waitForSelector('.row.sel[data-number="90"]');
});

let bigUrl;
await test(`a recording of ${EVENTS} events scrolls to its end; hostile strings stay text`, async () => {
  const big = join(scratch, 'big.json');
  const t0 = Date.now();
  await generate(big, EVENTS);
  console.log(`# generated ${EVENTS} events in ${Date.now() - t0} ms`);
  bigUrl = await serve([big]);
  const t1 = Date.now();
  await page.goto(bigUrl);
  await page.waitForSelector('.row[data-number="1"]');
  console.log(`# first rows after ${Date.now() - t1} ms`);
  await waitComplete(page, 600_000);
  console.log(`# index complete after ${Date.now() - t1} ms`);
  const displayed = Number(await page.$eval('#status-left', (s) => s.dataset.displayed));
  assert.equal(displayed, EVENTS);
  // The hostile names are shown as text, never as markup.
  const cell = await page.$eval('.row[data-number="1"] .c:nth-child(7)', (c) => c.textContent);
  assert.equal(cell, '<img src=x onerror="window.__pwned=1">');
  assert.equal(await page.$$eval('#list-rows img, #list-rows script', (e) => e.length), 0);
  await page.click('.row[data-number="2"]');
  await page.waitForSelector('.node[data-field="tracee.processName"]');
  await page.click('.node[data-field="tracee.processName"] .t');
  assert.equal(await page.$$eval('#tree img, #tree script, #bytes-view img, #bytes-view script', (e) => e.length), 0);
  assert.equal(await page.evaluate(() => window.__pwned), undefined, 'no injected script ran');
  // The scrollbar is scaled: the spacer stays under the browsers' height limit.
  const height = await page.$eval('#list-spacer', (s) => s.getBoundingClientRect().height);
  assert.ok(height <= 8_000_000, `spacer height ${height}`);
  await page.focus('#list-scroll');
  const t2 = Date.now();
  await page.keyboard.press('End');
  await page.waitForSelector(`.row[data-number="${EVENTS}"]`);
  console.log(`# End to last row visible in ${Date.now() - t2} ms`);
  const box = await page.$eval(`.row[data-number="${EVENTS}"]`, (r) => {
    const b = r.getBoundingClientRect();
    const s = document.getElementById('list-scroll').getBoundingClientRect();
    return { top: b.top, bottom: b.bottom, stop: s.top, sbottom: s.bottom };
  });
  assert.ok(box.top >= box.stop - 1 && box.bottom <= box.sbottom + 1, `last row inside the list ${JSON.stringify(box)}`);
  // Dragging the scrollbar to the middle shows the middle rows.
  await page.$eval('#list-scroll', (s) => { s.scrollTop = (s.scrollHeight - s.clientHeight) / 2; });
  const mid = Math.floor(EVENTS / 2);
  await page.waitForFunction((m) => [...document.querySelectorAll('.row[data-number]')]
    .some((r) => Math.abs(Number(r.dataset.number) - m) < 100), mid);
  await page.keyboard.press('End');
  await page.waitForSelector(`.row[data-number="${EVENTS}"]`);
  await page.screenshot({ path: join(shots, 'end-of-large.png') });
});

await test('nothing was fetched from outside the binary, no script error', async () => {
  assert.deepEqual(outside, []);
  assert.deepEqual(pageErrors, []);
});

await context.close();
for (const c of children) c.kill();
rmSync(profileDir, { recursive: true, force: true });
rmSync(scratch, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
