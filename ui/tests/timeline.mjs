// End-to-end test of the timeline strip, the I/O graph and the pivots of `osprey view`, in
// Debian's chromium driven by playwright-core (no browser download), against the real binary
// on the bundled sample recording (samples/demo.pcapng, events of a real osprey trace) and on
// findings `osprey detect` writes for it. Every count is compared with what the CLI prints:
// `osprey read -Y` for the list, `osprey read -z ... -T json` for the charts and windows.
// Screenshots go to target/view-screenshots/ (timeline.png, io-graph.png, count-by-field.png).
//
// OSPREY_BIN picks the binary (default: target/release/osprey if built, else target/debug).

import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import {
  bin, root, shots, DEMO, scratchDir, test, serve, readFrames, readZ, launch, finish,
} from './harness.mjs';


const scratch = scratchDir('osprey-timeline-test-');




// Findings for the sample: two rules of our own, written by `osprey detect -w`.
const RULES = join(scratch, 'rules.toml');
writeFileSync(RULES, `[[rule]]
id = "TL-1"
name = "chmod_seen"
severity = 2
events = ["chmod"]
filter = 'tracee.eventName == "chmod"'

[[rule]]
id = "TL-2"
name = "magic_write_seen"
severity = 3
events = ["magic_write"]
filter = 'tracee.eventName == "magic_write"'
`);
const FINDINGS = join(scratch, 'findings.pcapng');
execFileSync(bin, ['detect', '-q', '-r', DEMO, '-R', RULES, '-w', FINDINGS], { stdio: ['ignore', 'ignore', 'inherit'] });
const FILES = [DEMO, FINDINGS];

const { page, outside, pageErrors } = await launch();

const url = await serve(FILES);

async function waitComplete() {
  await page.waitForFunction(() => document.getElementById('status-left')?.dataset.complete === 'true', null, { timeout: 60_000 });
}
const filterText = () => page.$eval('#filter', (i) => i.value);
/** Waits for the list to show the view of the filter bar's text, complete, with `n` rows. */
async function expectDisplayed(n) {
  await waitComplete();
  await page.waitForFunction((n) => document.getElementById('status-left').dataset.displayed === String(n), n, { timeout: 30_000 });
}
/** The timeline's bars as drawn: index → total. */
async function bars(total) {
  await page.waitForSelector('#timeline[data-bars] .tl-svg');
  if (total !== undefined) await page.waitForFunction((t) => document.getElementById('timeline').dataset.total === String(t), total, { timeout: 20_000 });
  return page.$$eval('#timeline .tl-bar', (gs) => gs.map((g) => [Number(g.dataset.i), Number(g.dataset.count)]));
}
/** Clicks the context menu entry of a detail field whose label starts with `label`. */
async function fieldMenu(field, label) {
  await page.click(`.node[data-field="${field}"] .t`, { button: 'right' });
  const item = `#menu > .mi[data-label^="${label.replace(/"/g, '\\"')}"]`;
  await page.waitForSelector(item);
  await page.click(item);
}
async function openFrame(n) {
  await page.goto('about:blank');
  await page.goto(url);
  await waitComplete();
  await page.waitForSelector('.row[data-number="1"]');
  await page.evaluate((n) => { location.hash = `frame=${n}`; }, n);
  await page.waitForSelector(`.row.sel[data-number="${n}"]`);
  await page.waitForSelector('.node[data-field="tracee.eventName"]');
}

let intervalUs = 0;
await test('the timeline has the counts of -z tracee,timeline over ~100-300 bars', async () => {
  await page.goto(url);
  await waitComplete();
  const drawn = await bars(readFrames(FILES, '').length);
  intervalUs = Number(await page.$eval('#timeline', (t) => t.dataset.intervalUs));
  const n = Number(await page.$eval('#timeline', (t) => t.dataset.bars));
  assert.ok(n >= 80 && n <= 300, `${n} bars`);
  const cli = readZ(FILES, `tracee,timeline,${intervalUs / 1e6}`);
  assert.equal(cli.interval_us, intervalUs);
  const totals = cli.starts_us.map((_, i) => cli.groups.reduce((s, g) => s + g.counts[i], 0));
  assert.deepEqual(drawn, totals.map((c, i) => [i, c]).filter(([, c]) => c > 0));
  assert.ok(cli.groups.some((g) => g.name === 'Signatures'), 'the findings are a group');
});

await test('brushing the timeline filters the list to what osprey read -Y gives', async () => {
  const box = await page.$eval('#timeline .tl-chart', (c) => { const r = c.getBoundingClientRect(); return { x: r.left, y: r.top, w: r.width }; });
  await page.mouse.move(box.x + box.w * 0.3, box.y + 30);
  await page.mouse.down();
  await page.mouse.move(box.x + box.w * 0.5, box.y + 30, { steps: 5 });
  await page.mouse.move(box.x + box.w * 0.7, box.y + 30, { steps: 5 });
  await page.mouse.up();
  await page.waitForFunction(() => document.getElementById('filter').value.includes('frame.time_relative'));
  const f = await filterText();
  assert.match(f, /^frame\.time_relative >= [\d.]+ && frame\.time_relative < [\d.]+$/);
  const expect = readFrames(FILES, f);
  assert.ok(expect.length > 0, 'the range holds frames');
  await expectDisplayed(expect.length);
  await page.waitForFunction(() => document.querySelectorAll('.row[data-number]').length > 0
    && document.querySelectorAll('.row.loading').length === 0);
  const first = await page.$eval('.row[data-number]', (r) => Number(r.dataset.number));
  assert.equal(first, expect[0]);
  // the strip still shows the whole view with the range marked
  await page.waitForSelector('#timeline .tl-sel');
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(shots, 'timeline.png'), clip: { x: 0, y: 0, width: 1400, height: 420 } });

  // combined with a filter: the range is anded to it
  await page.click('#timeline .tl-clear');
  await page.fill('#filter', 'tracee.eventName == "security_file_open"');
  await page.press('#filter', 'Enter');
  await expectDisplayed(readFrames(FILES, 'tracee.eventName == "security_file_open"').length);
  await page.waitForFunction(() => !document.querySelector('#timeline .tl-sel'));
  await page.waitForTimeout(500);
  await page.mouse.move(box.x + box.w * 0.1, box.y + 30);
  await page.mouse.down();
  await page.mouse.move(box.x + box.w * 0.6, box.y + 30, { steps: 5 });
  await page.mouse.up();
  await page.waitForFunction(() => document.getElementById('filter').value.includes('frame.time_relative'));
  const g = await filterText();
  assert.ok(g.startsWith('(tracee.eventName == "security_file_open") && (frame.time_relative >= '), g);
  await expectDisplayed(readFrames(FILES, g).length);
});

await test('clicking a bar selects the first frame of its interval', async () => {
  await page.goto(url);
  await waitComplete();
  const drawn = await bars();
  const [i] = drawn[Math.floor(drawn.length / 2)];
  const box = await page.$eval('#timeline .tl-chart', (c) => { const r = c.getBoundingClientRect(); return { x: r.left, y: r.top, w: r.width }; });
  const n = Number(await page.$eval('#timeline', (t) => t.dataset.bars));
  await page.mouse.click(box.x + (i + 0.5) * (box.w / n), box.y + 40);
  const a = i * intervalUs, b = (i + 1) * intervalUs;
  const want = readFrames(FILES, `frame.time_relative >= ${a / 1e6} && frame.time_relative < ${b / 1e6}`)[0];
  await page.waitForSelector(`.row.sel[data-number="${want}"]`);
});

await test('stacked by severity, the bars count the same frames', async () => {
  const before = (await bars()).reduce((s, [, c]) => s + c, 0);
  await page.selectOption('#timeline .tl-mode', 'severity');
  await page.waitForFunction(() => [...document.querySelectorAll('#timeline .tl-key')].some((k) => k.textContent.startsWith('Severity')));
  const keys = await page.$$eval('#timeline .tl-key', (ks) => ks.map((k) => k.textContent));
  assert.deepEqual(keys, ['Severity 2', 'Severity 3', 'Not a signature']);
  const after = (await bars()).reduce((s, [, c]) => s + c, 0);
  assert.equal(after, before);
  assert.equal(after, readFrames(FILES, '').length);
  await page.selectOption('#timeline .tl-mode', 'group');
});

await test('the I/O graph shows io,stat counts; hover shows them; a click goes there', async () => {
  await page.goto(url);
  await waitComplete();
  await page.click('#analyze');
  await page.click('#menu .mi[data-label="I/O Graph…"]');
  await page.waitForSelector('#panel-iograph .io-series');
  // a third line, a bar
  await page.click('#panel-iograph .io-add');
  await page.fill('#panel-iograph .io-line[data-k="2"] .io-filter', 'tracee.eventName == "security_file_open"');
  await page.press('#panel-iograph .io-line[data-k="2"] .io-filter', 'Enter');
  await page.selectOption('#panel-iograph .io-line[data-k="2"] select', 'bar');
  await page.waitForFunction(() => document.querySelectorAll('#panel-iograph .io-series').length === 3);
  await page.selectOption('#panel-iograph .io-interval', '10000');
  await page.waitForFunction(() => document.getElementById('panel-iograph').dataset.view?.startsWith('io,stat,0.01,'));
  const view = await page.$eval('#panel-iograph', (p) => p.dataset.view);
  assert.equal(view, 'io,stat,0.01,frame,tracee.eventName contains "net",tracee.eventName == "security_file_open"');
  await page.waitForFunction(() => document.querySelectorAll('#panel-iograph .io-series').length === 3);
  const drawn = await page.$$eval('#panel-iograph .io-series', (gs) => gs.map((g) => g.dataset.values.split(',').map(Number)));
  const cli = readZ(FILES, view);
  assert.deepEqual(drawn, cli.columns.map((c) => c.cells.map((x) => x.frames)));
  // hover over interval 3
  const svg = await page.$eval('#panel-iograph .io-svg', (s) => { const r = s.getBoundingClientRect(); return { x: r.left, y: r.top, w: r.width, h: r.height }; });
  const n = drawn[0].length;
  const L = 48, R = 8;
  const xOf = (i) => svg.x + L + ((i + 0.5) / n) * (svg.w - L - R);
  await page.mouse.move(xOf(3), svg.y + svg.h / 2);
  const hover = await page.$eval('#panel-iograph .io-hover', (h) => h.textContent);
  assert.ok(hover.includes(`all = ${drawn[0][3]}`) && hover.includes(`= ${drawn[2][3]}`), hover);
  await page.screenshot({ path: join(shots, 'io-graph.png') });
  await page.mouse.click(xOf(3), svg.y + svg.h / 2);
  const want = readFrames(FILES, `frame.time_relative >= ${3 * 0.01} && frame.time_relative < ${4 * 0.01}`)[0];
  await page.waitForSelector(`.row.sel[data-number="${want}"]`);
});

await test('pivots: filter ==, !=, and, and not land on the frames osprey read -Y gives', async () => {
  const num = readFrames(FILES, 'tracee.eventName == "security_socket_connect" && tracee.sockaddr.sin_port == "33217"')[0];
  await openFrame(num);
  for (const [label, make] of [
    ['Filter ==', (f) => f],
    ['Filter !=', (f) => `!(${f})`],
  ]) {
    await fieldMenu('tracee.processName', label);
    const f = make('tracee.processName == "python3"');
    await page.waitForFunction((f) => document.getElementById('filter').value === f, f);
    await expectDisplayed(readFrames(FILES, f).length);
  }
  await openFrame(num);
  await page.fill('#filter', 'tracee.processName == "python3"');
  await fieldMenu('tracee.eventName', 'Add to filter with and not');
  const f = '(tracee.processName == "python3") && !(tracee.eventName == "security_socket_connect")';
  await page.waitForFunction((f) => document.getElementById('filter').value === f, f);
  await expectDisplayed(readFrames(FILES, f).length);
});

await test('pivot: from a connect event to the packets of its address and port, and back', async () => {
  const num = readFrames(FILES, 'tracee.eventName == "security_socket_connect" && tracee.sockaddr.sin_port == "33217"')[0];
  await openFrame(num);
  await fieldMenu('tracee.eventName', 'Packets of 127.0.0.1:33217');
  await page.waitForFunction(() => document.getElementById('filter').value.includes('tracee.pktmeta'));
  const f = await filterText();
  const pk = readFrames(FILES, f);
  assert.ok(pk.length > 0, 'the connection has packets');
  assert.deepEqual(readFrames(FILES, `(${f}) && !(tracee.eventName contains "net_packet")`), [], 'packets only');
  await expectDisplayed(pk.length);
  // back: from a packet event to the socket events of its two ends
  await openFrame(pk[0]);
  await fieldMenu('tracee.eventName', 'Socket events of ');
  await page.waitForFunction(() => document.getElementById('filter').value.includes('tracee.sockaddr'));
  const g = await filterText();
  const socks = readFrames(FILES, g);
  assert.ok(socks.includes(num), `the connect (${num}) is among ${socks}`);
  await expectDisplayed(socks.length);
});

await test('pivot: from a finding to the event that triggered it', async () => {
  const findings = readFrames(FILES, 'tracee.isSignature == 1');
  assert.equal(findings.length, 3);
  const chmod = readFrames(FILES, 'tracee.eventName == "chmod_seen"')[0];
  const trigger = readFrames(FILES, 'tracee.eventName == "chmod" && tracee.isSignature == 0');
  assert.equal(trigger.length, 1);
  await openFrame(chmod);
  await fieldMenu('tracee.eventName', 'Go to the triggering event');
  await page.waitForSelector(`.row.sel[data-number="${trigger[0]}"]`);
  // the two magic_write findings land on their own triggers
  const mw = readFrames(FILES, 'tracee.eventName == "magic_write_seen"');
  const writes = readFrames(FILES, 'tracee.eventName == "magic_write"');
  assert.equal(mw.length, 2);
  for (const [k, f] of mw.entries()) {
    await openFrame(f);
    await fieldMenu('tracee.eventName', 'Go to the triggering event');
    await page.waitForSelector(`.row.sel[data-number="${writes[k]}"]`);
  }
});

await test('count by this field shows -z count,FIELD over the current view; a row filters', async () => {
  await openFrame(1);
  const base = 'tracee.processName == "python3"';
  await page.fill('#filter', base);
  await page.press('#filter', 'Enter');
  await expectDisplayed(readFrames(FILES, base).length);
  await page.click('.row[data-number]');
  await page.waitForSelector('.node[data-field="tracee.eventName"]');
  await fieldMenu('tracee.eventName', 'Count by this field');
  await page.waitForSelector('#panel-count .cnt-row');
  const rows = await page.$$eval('#panel-count .cnt-row', (rs) => rs.map((r) => [r.dataset.value, Number(r.dataset.count)]));
  const cli = readZ(FILES, 'count,tracee.eventName', base);
  assert.deepEqual(rows, cli.nodes[0].children.map((c) => [c.name, c.count]));
  await page.screenshot({ path: join(shots, 'count-by-field.png') });
  const [value, count] = rows[1];
  await page.click(`#panel-count .cnt-row[data-value="${value}"]`);
  const f = `(${base}) && (tracee.eventName == "${value}")`;
  await page.waitForFunction((f) => document.getElementById('filter').value === f, f);
  assert.equal(readFrames(FILES, f).length, count);
  await expectDisplayed(count);
});

await test('recordings years apart: a coarse interval, still the counts of -z tracee,timeline', async () => {
  const DOCS = join(root, 'tests/fixtures/tracee/tracee-docs-v0.23.jsonl');
  const far = [DOCS, DEMO];
  const url2 = await serve(far);
  await page.goto('about:blank');
  await page.goto(url2);
  await waitComplete();
  const drawn = await bars(readFrames(far, '').length);
  const n = Number(await page.$eval('#timeline', (t) => t.dataset.bars));
  const iv = Number(await page.$eval('#timeline', (t) => t.dataset.intervalUs));
  assert.ok(n >= 50 && n <= 300, `${n} bars of ${iv} µs`);
  const cli = readZ(far, `tracee,timeline,${iv / 1e6}`);
  const totals = cli.starts_us.map((_, i) => cli.groups.reduce((s, g) => s + g.counts[i], 0));
  assert.deepEqual(drawn, totals.map((c, i) => [i, c]).filter(([, c]) => c > 0));
  // brushing the first bars (in the 2022 recording) filters to what -Y gives
  const box = await page.$eval('#timeline .tl-chart', (c) => { const r = c.getBoundingClientRect(); return { x: r.left, y: r.top, w: r.width }; });
  await page.mouse.move(box.x + 1, box.y + 30);
  await page.mouse.down();
  await page.mouse.move(box.x + box.w * 0.2, box.y + 30, { steps: 4 });
  await page.mouse.up();
  await page.waitForFunction(() => document.getElementById('filter').value.includes('frame.time_relative'));
  const f = await filterText();
  const expect = readFrames(far, f);
  assert.ok(expect.length > 0 && expect.length < readFrames(far, '').length, `${expect.length} frames`);
  await expectDisplayed(expect.length);
});

await test('nothing was fetched from outside the binary, no script error', async () => {
  assert.deepEqual(outside, []);
  assert.deepEqual(pageErrors, []);
});

await finish();
