// End-to-end test of `osprey view` in Debian's chromium, driven by playwright-core (no browser
// download). It starts the real binary on the repository's fixtures and on a generated
// recording of many events, and checks what a user sees: rows with the profile's columns and
// colors, a filter whose row count equals `osprey read -Y`, the detail tree, the exact bytes of
// a selected field highlighted, hostile strings shown as text, and a scroll to the last row.
// Screenshots go to target/view-screenshots/.
//
// OSPREY_BIN picks the binary (default: target/release/osprey if built, else target/debug);
// OSPREY_VIEW_TEST_EVENTS the size of the generated recording (default 1,000,000).

import { execFileSync } from 'node:child_process';
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import {
  bin, shots, DOCS, ACTION, scratchDir, test, serve, apiUrl, apiJson, readFrames, launch, finish,
} from './harness.mjs';

const EVENTS = Number(process.env.OSPREY_VIEW_TEST_EVENTS ?? 1_000_000);
const scratch = scratchDir('osprey-view-test-');

/** What `osprey read -Y FILTER -w OUT` writes (OUT's extension picks the format). */
function readWritten(files, filter, ext) {
  const out = join(scratch, `read-w-${Date.now()}.${ext}`);
  const args = ['read', '-q', '-w', out];
  if (filter) args.push('-Y', filter);
  for (const f of files) args.push('-r', f);
  execFileSync(bin, args);
  return readFileSync(out);
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
    e.processName = i < hostile.length ? hostile[i] : i === hostile.length ? 'INVALID_UTF8' : `proc${i % 97}`;
    e.args = [
      { name: 'pathname', type: 'const char*', value: i < hostile.length ? hostile[i] : `/tmp/file${i}` },
      { name: 'flags', type: 'string', value: 'O_RDONLY' },
    ];
    e.argsNum = 2;
    let line = JSON.stringify(e).replace(`"timestamp":"${e.timestamp}"`, `"timestamp":${e.timestamp}`);
    // One name holds bytes that are not UTF-8 (a lone continuation byte, an overlong '<').
    const bytes = line.includes('INVALID_UTF8')
      ? Buffer.concat(line.split('INVALID_UTF8').flatMap((part, k) => (k ? [Buffer.from([0x80, 0xff, 0xc0, 0xbc, 0x3c]), Buffer.from(part)] : [Buffer.from(part)])))
      : Buffer.from(line);
    if (!out.write(Buffer.concat([bytes, Buffer.from('\n')]))) await new Promise((r) => out.once('drain', r));
  }
  await new Promise((r) => out.end(r));
}

const { context, page, outside, pageErrors } = await launch();

const fixtures = [DOCS, ACTION];
const url = await serve(fixtures);

/** A smaller screenshot for docs/ui.md (copied to docs/img/ by hand when the UI changes). */
async function docShot(name) {
  await page.setViewportSize({ width: 1100, height: 620 });
  await page.waitForTimeout(200);
  await page.screenshot({ path: join(shots, name) });
  await page.setViewportSize({ width: 1400, height: 900 });
}

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

await test('a deprecated form turns yellow with its place underlined', async () => {
  await page.fill('#filter', 'tracee.processName == "x" || tcp.port ~= 80');
  await page.waitForSelector('#filter-wrap.warn');
  assert.equal(await page.$eval('#filter-under .err', (e) => e.textContent), '~=');
  assert.match(await page.$eval('#filter-error', (e) => e.textContent), /deprecated.*!==.*column 39/);
  await page.screenshot({ path: join(shots, 'deprecated-filter.png') });
  // It still applies.
  await page.press('#filter', 'Enter');
  await waitComplete(page);
  await page.fill('#filter', 'tcp.port !== 80');
  await page.waitForSelector('#filter-wrap.ok');
  assert.equal(await page.$eval('#filter-error', (e) => e.textContent), '');
  await page.fill('#filter', '');
  await page.press('#filter', 'Enter');
});

await test('the preferences dialog changes how PIDs are shown, as -o pid_format does', async () => {
  // An event of a process in a PID namespace: 182934 inside it, 184128 on the host.
  await page.fill('#filter', 'tracee.processId == 182934');
  await page.press('#filter', 'Enter');
  await waitComplete(page);
  const pidCell = () => page.$eval('.row[data-number]', (r) => r.children[5].textContent);
  await page.waitForFunction(() => document.querySelector('.row[data-number]')?.children[5].textContent === '182934');
  for (const [format, want] of [['host', '184128'], ['both', '182934 (184128)'], ['container', '182934']]) {
    await page.click('#prefs');
    await page.waitForSelector('#prefs-dialog[open]');
    await page.selectOption('#pref-pid-format', format);
    await page.click('#prefs-ok');
    await page.waitForFunction((w) => document.querySelector('.row[data-number]')?.children[5].textContent === w, want);
    assert.equal(await pidCell(), want);
    // The list shows what osprey read -o pid_format shows.
    const read = execFileSync(bin, ['read', '-q', '-o', `pid_format:${format}`, '-Y', 'tracee.processId == 182934', '-T', 'fields', '-e', 'tracee.pid_col', '-r', DOCS, '-r', ACTION], { encoding: 'utf8' });
    assert.equal(read.split('\n')[0], want);
  }
  await page.fill('#filter', '');
  await page.press('#filter', 'Enter');
});

await test('selecting a row and a field highlights exactly its bytes', async () => {
  await page.click('.row[data-number="1"]');
  await page.waitForSelector('.node[data-field="tracee.processName"]');
  const nodes = await page.$$eval('.node', (ns) => ns.length);
  assert.ok(nodes > 40, `the detail tree has the event's fields (${nodes})`);
  const detail = await apiJson(url, 'api/frames/1');
  const raw = new Uint8Array(await (await fetch(apiUrl(url, 'api/frames/1/bytes?source=json'))).arrayBuffer());
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
  await docShot('view-detail.png');
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

await test('a net_packet_raw event shows its packet in a Network Packet tab', async () => {
  // The event carries an IPv4/UDP packet (10.1.2.3:1234 -> 10.4.5.6:53) in base64.
  const payload = Buffer.from('hello');
  const ip = Buffer.from([0x45, 0, 0, 20 + 8 + payload.length, 0, 1, 0, 0, 64, 17, 0, 0, 10, 1, 2, 3, 10, 4, 5, 6]);
  const udp = Buffer.from([0x04, 0xd2, 0, 53, 0, 8 + payload.length, 0, 0]);
  const pkt = Buffer.concat([ip, udp, payload]);
  const base = JSON.parse(readFileSync(DOCS, 'utf8').split('\n')[0]);
  const e = { ...base, eventName: 'net_packet_raw', eventId: '1700', argsNum: 1,
    args: [{ name: 'data', type: 'bytes', value: pkt.toString('base64') }] };
  const file = join(scratch, 'raw.json');
  writeFileSync(file, JSON.stringify(e) + '\n');
  const u = await serve([file]);
  await page.goto(u);
  await page.click('.row[data-number="1"]');
  await page.waitForSelector('.node[data-field="ip.src"]');
  const tabs = await page.$$eval('#tabs button', (bs) => bs.map((b) => b.textContent));
  assert.deepEqual(tabs, [`Event JSON (${Buffer.byteLength(JSON.stringify(e))} bytes)`, `Network Packet (${pkt.length} bytes)`]);
  await page.click('.node[data-field="ip.src"] .t');
  await page.waitForSelector('#tabs button.active[data-source="packet"]');
  const hl = await page.$$eval('.hex .hl', (s) => s.map((x) => x.textContent));
  assert.deepEqual(hl, ['0a', '01', '02', '03', '.', '.', '.', '.']);
  await page.click('.node[data-field="udp.dstport"] .t');
  assert.deepEqual(await page.$$eval('.hex .hl', (s) => s.map((x) => x.textContent)), ['00', '35', '.', '5']);
  // An event field goes back to the JSON tab, its bytes marked.
  await page.click('.node[data-field="tracee.eventName"] .t');
  await page.waitForSelector('#tabs button.active[data-source="json"]');
  assert.equal(await page.$eval('#bytes-view mark', (m) => m.textContent), '"net_packet_raw"');
  await page.screenshot({ path: join(shots, 'net-packet-raw.png') });
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


/** Applies FILTER by the filter bar and waits for its complete view. */
async function filterBy(filter) {
  await page.fill('#filter', filter);
  await page.waitForSelector('#filter-wrap.ok');
  await page.press('#filter', 'Enter');
  await page.waitForFunction((f) => document.getElementById('status-left').dataset.complete === 'true'
    && location.hash.includes(new URLSearchParams({ filter: f }).toString()), filter);
}
const displayed = async () => Number(await page.$eval('#status-left', (s) => s.dataset.displayed));
const shownNumbers = async () => {
  await page.waitForFunction(() => document.querySelectorAll('.row[data-number]').length > 0
    && document.querySelectorAll('.row.loading').length === 0);
  return page.$$eval('.row[data-number]', (rs) => rs.map((r) => Number(r.dataset.number)));
};
/** Opens the context menu of `target` and clicks the path of items (submenus hovered). */
async function menu(target, ...path) {
  await page.click(target, { button: 'right' });
  let scope = '#menu';
  for (const [k, label] of path.entries()) {
    const item = `${scope} > .mi[data-label="${label.replace(/"/g, '\\"')}"]`;
    await page.waitForSelector(item);
    if (k < path.length - 1) {
      await page.hover(item);
      scope = `${item} > .submenu`;
    } else {
      await page.click(item);
    }
  }
}

await test('context menu: apply and prepare as filter, copy, apply as column', async () => {
  await page.goto(url);
  await waitComplete(page);
  await page.click('.row[data-number="1"]');
  await page.waitForSelector('.node[data-field="tracee.processName"]');
  const detail = await apiJson(url, 'api/frames/1');
  const node = (f) => detail.tree.find((n) => n.field === f);
  // Apply as Filter → Selected.
  await menu('.node[data-field="tracee.processName"] .t', 'Apply as Filter', 'Selected');
  const f1 = node('tracee.processName').filter;
  assert.equal(f1, 'tracee.processName == "bash"');
  await page.waitForFunction((f) => document.getElementById('filter').value === f, f1);
  await waitComplete(page);
  await page.waitForFunction((n) => document.getElementById('status-left').dataset.displayed === String(n), readFrames(fixtures, f1).length);
  // The selected frame stays selected in the new view.
  await page.waitForSelector('.row.sel[data-number="1"]');
  // Prepare as Filter → …and not Selected: the bar changes, nothing is applied until Enter.
  await page.waitForSelector('.node[data-field="tracee.eventName"]');
  await menu('.node[data-field="tracee.eventName"] .t', 'Prepare as Filter', '…and not Selected');
  const f2 = `(${f1}) && !(${node('tracee.eventName').filter})`;
  assert.equal(await page.inputValue('#filter'), f2);
  assert.equal(await displayed(), readFrames(fixtures, f1).length, 'prepared, not applied');
  await page.press('#filter', 'Enter');
  await page.waitForFunction((n) => document.getElementById('status-left').dataset.displayed === String(n)
    && document.getElementById('status-left').dataset.complete === 'true', readFrames(fixtures, f2).length);
  assert.deepEqual((await shownNumbers()), readFrames(fixtures, f2).slice(0, (await shownNumbers()).length));
  // …or Selected, and Not Selected.
  await page.click('.row[data-number]');
  await page.waitForSelector('.node[data-field="tracee.processId"]');
  const d2 = await apiJson(url, `api/frames/${await page.$eval('.row.sel', (r) => r.dataset.number)}`);
  const pidFilter = d2.tree.find((n) => n.field === 'tracee.processId').filter;
  await menu('.node[data-field="tracee.processId"] .t', 'Apply as Filter', '…or Selected');
  const f3 = `(${f2}) || (${pidFilter})`;
  await page.waitForFunction((f) => document.getElementById('filter').value === f, f3);
  await page.waitForFunction((n) => document.getElementById('status-left').dataset.displayed === String(n)
    && document.getElementById('status-left').dataset.complete === 'true', readFrames(fixtures, f3).length);
  await menu('.node[data-field="tracee.processId"] .t', 'Apply as Filter', 'Not Selected');
  const f4 = `!(${pidFilter})`;
  await page.waitForFunction((n) => document.getElementById('status-left').dataset.displayed === String(n)
    && document.getElementById('status-left').dataset.complete === 'true', readFrames(fixtures, f4).length);
  // Copy: value, field name, as filter.
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(url).origin });
  await page.click('.row[data-number]');
  await page.waitForSelector('.node[data-field="tracee.processName"]');
  const sel = await page.$eval('.row.sel', (r) => r.dataset.number);
  const d3 = await apiJson(url, `api/frames/${sel}`);
  const pn = d3.tree.find((n) => n.field === 'tracee.processName');
  for (const [label, want] of [['Value', pn.value], ['Field Name', 'tracee.processName'], ['As Filter', pn.filter]]) {
    await menu('.node[data-field="tracee.processName"] .t', 'Copy', label);
    await page.waitForFunction((w) => navigator.clipboard.readText().then((t) => t === w), want);
  }
  // Apply as Column: a new column whose cells are the field's values.
  await page.click('#clear');
  await waitComplete(page);
  await page.click('.row[data-number="1"]');
  await page.waitForSelector('.node[data-field="tracee.args.security_file_open.pathname"]');
  await menu('.node[data-field="tracee.args.security_file_open.pathname"] .t', 'Apply as Column');
  await page.waitForSelector('#list-head .h[data-key="f:tracee.args.security_file_open.pathname"]');
  await page.waitForFunction(() => document.querySelector('.row[data-number="1"] .c:last-child')?.textContent === '/tmp/testing.txt');
  const rows = await apiJson(url, 'api/rows?limit=30&columns=tracee.args.security_file_open.pathname');
  const cells = await page.$$eval('.row[data-number]', (rs) => rs.slice(0, 30).map((r) => [Number(r.dataset.number), r.lastElementChild.textContent]));
  for (const [n, text] of cells) assert.equal(text, rows.rows.find((r) => r.number === n).cells[13], `frame ${n}`);
  await page.screenshot({ path: join(shots, 'context-menu-column.png') });
});

await test('columns sort on the server, hide and move, and stay so after a reload', async () => {
  // Sorted by Process Name (column 6): a stable sort of what osprey read prints.
  const out = execFileSync(bin, ['read', '-q', '-T', 'fields', '-e', 'frame.number', '-e', 'tracee.processName', '-E', 'separator=/t',
    ...fixtures.flatMap((f) => ['-r', f])], { encoding: 'utf8' });
  const pairs = out.split('\n').filter(Boolean).map((l) => { const [n, p] = l.split('\t'); return [Number(n), p ?? '']; });
  const cmp = (a, b) => (a[1] === b[1] ? 0 : Buffer.compare(Buffer.from(a[1]), Buffer.from(b[1])));
  const asc = [...pairs].sort(cmp).map((p) => p[0]);
  const desc = [...pairs].sort((a, b) => cmp(b, a)).map((p) => p[0]);
  const top = async () => {
    // The selected frame is kept in view; look at the top of the list.
    await page.waitForSelector('.row.sel');
    await page.waitForFunction(() => { document.getElementById('list-scroll').scrollTop = 0; return !!document.querySelector('.row[data-offset="0"]'); });
  };
  // Frame `first` at the top of the list, scrolled there again on each try: keeping the
  // selected frame in view may scroll the list after top() did.
  const atTop = (first) => page.waitForFunction((f) => {
    document.getElementById('list-scroll').scrollTop = 0;
    return document.querySelector('.row[data-offset="0"]')?.dataset.number === String(f);
  }, first);
  await page.click('#list-head .h[data-key="#6"]');
  await page.waitForSelector('#list-head .h.sorted-asc[data-key="#6"]');
  await top();
  await atTop(asc[0]);
  let shown = await shownNumbers();
  assert.deepEqual(shown, asc.slice(0, shown.length));
  await page.click('#list-head .h[data-key="#6"]');
  await page.waitForSelector('#list-head .h.sorted-desc[data-key="#6"]');
  await top();
  await atTop(desc[0]);
  shown = await shownNumbers();
  assert.deepEqual(shown, desc.slice(0, shown.length));
  // End goes to the last row of the sorted order.
  await page.focus('#list-scroll');
  await page.keyboard.press('End');
  await page.waitForSelector(`.row.sel[data-number="${desc[desc.length - 1]}"]`);
  await page.click('#list-head .h[data-key="#6"]');
  await page.waitForFunction(() => !document.querySelector('#list-head .sorted-asc, #list-head .sorted-desc'));
  // Hide "Container" (column 3) from the header's menu; move Process Name before Protocol.
  await menu('#list-head .h[data-key="#3"]', 'Hide "Container"');
  await page.waitForFunction(() => !document.querySelector('#list-head .h[data-key="#3"]'));
  await page.dragAndDrop('#list-head .h[data-key="#6"]', '#list-head .h[data-key="#2"]');
  const keys = () => page.$$eval('#list-head .h', (hs) => hs.map((h) => h.dataset.key));
  await page.waitForFunction(() => [...document.querySelectorAll('#list-head .h')].map((h) => h.dataset.key).indexOf('#6') === 2);
  const before = await keys();
  assert.deepEqual(before.slice(0, 4), ['#0', '#1', '#6', '#2']);
  assert.ok(!before.includes('#3'));
  // The cells follow the header.
  await page.waitForFunction(() => { document.getElementById('list-scroll').scrollTop = 0; return !!document.querySelector('.row[data-number="1"]'); });
  const cells = await page.$$eval('.row[data-number="1"] .c', (cs) => cs.map((c) => c.textContent));
  assert.equal(cells[2], 'bash');
  await page.reload();
  await page.waitForSelector('.row[data-number]');
  assert.deepEqual(await keys(), before, 'kept in localStorage');
  await menu('#list-head .h[data-key="#0"]', 'Reset Columns');
  await page.waitForFunction(() => document.querySelectorAll('#list-head .h').length === 13);
});

await test('Ctrl-G and marks inside a filtered view; time reference', async () => {
  const filter = 'tracee.eventName == "net_packet_dns"';
  await filterBy(filter);
  const expect = readFrames(fixtures, filter);
  const target = expect[expect.length - 2];
  page.once('dialog', (d) => d.accept(String(target)));
  await page.keyboard.press('Control+g');
  await page.waitForSelector(`.row.sel[data-number="${target}"]`);
  await page.waitForFunction((n) => document.getElementById('detail-title').textContent.startsWith(`Frame ${n} `), target);
  // A frame the view does not show: the next one shown, and a message.
  const hidden = [...Array(102).keys()].map((i) => i + 1).find((n) => n > expect[0] && !expect.includes(n));
  const next = expect.find((n) => n > hidden);
  page.once('dialog', (d) => d.accept(String(hidden)));
  await page.keyboard.press('Control+g');
  await page.waitForSelector(`.row.sel[data-number="${next}"]`);
  assert.match(await page.$eval('#status-msg', (m) => m.textContent), new RegExp(`Frame ${hidden} is not displayed`));
  // Marks: from the row menu and Ctrl-M.
  await page.$eval('#list-scroll', (s) => { s.scrollTop = 0; });
  await page.waitForSelector(`.row[data-number="${expect[0]}"]`);
  await page.click(`.row[data-number="${expect[0]}"]`);
  await menu(`.row[data-number="${expect[0]}"]`, 'Mark Frame');
  await page.click(`.row[data-number="${expect[2]}"]`);
  await page.focus('#list-scroll');
  await page.keyboard.press('Control+m');
  await page.waitForSelector(`.row.marked[data-number="${expect[2]}"]`);
  assert.deepEqual(await page.$$eval('.row.marked', (rs) => rs.map((r) => Number(r.dataset.number))), [expect[0], expect[2]]);
  assert.equal(await page.$eval('#status-left', (s) => s.dataset.marked), '2');
  // Next and previous marked.
  await page.click(`.row[data-number="${expect[1]}"]`);
  await menu(`.row[data-number="${expect[1]}"]`, 'Next Marked Frame');
  await page.waitForSelector(`.row.sel[data-number="${expect[2]}"]`);
  await page.keyboard.press('Control+Shift+B');
  await page.waitForSelector(`.row.sel[data-number="${expect[0]}"]`);
  // Time reference: *REF*, and the frames after it count from it.
  const rows = (await apiJson(url, `api/rows?limit=10&filter=${encodeURIComponent(filter)}`)).rows;
  await menu(`.row[data-number="${rows[1].number}"]`, 'Set Time Reference');
  await page.waitForFunction((n) => document.querySelector(`.row[data-number="${n}"] .c:nth-child(2)`)?.textContent === '*REF*', rows[1].number);
  const ns = BigInt(rows[2].ts) - BigInt(rows[1].ts);
  const want = `${ns / 1_000_000_000n}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}`;
  assert.equal(await page.$eval(`.row[data-number="${rows[2].number}"] .c:nth-child(2)`, (c) => c.textContent), want);
  // Copy a row's summary as CSV and JSON: the cells shown, in the columns' order.
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(url).origin });
  const shownCells = await page.$$eval(`.row[data-number="${rows[3].number}"] .c`, (cs) => cs.map((c) => c.textContent));
  const titles = await page.$$eval('#list-head .h', (hs) => hs.map((h) => h.textContent));
  await menu(`.row[data-number="${rows[3].number}"]`, 'Copy', 'Summary as CSV');
  await page.waitForFunction((w) => navigator.clipboard.readText().then((t) => t === w), shownCells.map((c) => `"${c.replace(/"/g, '""')}"`).join(','));
  await menu(`.row[data-number="${rows[3].number}"]`, 'Copy', 'Summary as JSON');
  await page.waitForFunction((w) => navigator.clipboard.readText().then((t) => t === w), JSON.stringify(Object.fromEntries(titles.map((t, i) => [t, shownCells[i]]))));
  await page.click(`.row[data-number="${rows[1].number}"]`);
  await page.screenshot({ path: join(shots, 'marks.png') });
  await docShot('view-marks.png');
  await menu(`.row[data-number="${rows[1].number}"]`, 'Unset Time Reference');
});

/** Runs the Export dialog and returns the downloaded bytes. */
async function exportVia(which, format, opts = {}) {
  await page.click('#export');
  await page.check(`#export-dialog input[name="which"][value="${which}"]`);
  if (opts.range) await page.fill('#export-range', opts.range);
  await page.setChecked('#export-displayed', !!opts.displayedOnly);
  await page.selectOption('#export-format', format);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-ok')]);
  return readFileSync(await download.path());
}

await test('Export Specified Frames writes what osprey read -w writes', async () => {
  const filter = 'tracee.eventName == "net_packet_dns"';
  const expect = readFrames(fixtures, filter);
  const marked = [expect[0], expect[2]];
  // Displayed, as PcapNG and as JSON.
  for (const [format, ext] of [['pcapng', 'pcapng'], ['json', 'json']]) {
    const got = await exportVia('displayed', format);
    assert.ok(got.equals(readWritten(fixtures, filter, ext)), `displayed as ${format}`);
  }
  // Marked (frames 2 of them), and all.
  const sel = `frame.number in {${marked.join(', ')}}`;
  const got = await exportVia('marked', 'pcapng');
  assert.ok(got.equals(readWritten(fixtures, sel, 'pcapng')), 'marked');
  const span = await exportVia('firstlast', 'pcapng');
  assert.ok(span.equals(readWritten(fixtures, `frame.number >= ${marked[0]} && frame.number <= ${marked[1]}`, 'pcapng')), 'first to last marked');
  const spanShown = await exportVia('firstlast', 'json', { displayedOnly: true });
  assert.ok(spanShown.equals(readWritten(fixtures, `(${filter}) && frame.number >= ${marked[0]} && frame.number <= ${marked[1]}`, 'json')), 'first to last marked, displayed');
  const selected = Number(await page.$eval('.row.sel', (r) => r.dataset.number));
  const one = await exportVia('selected', 'json');
  assert.ok(one.equals(readWritten(fixtures, `frame.number == ${selected}`, 'json')), 'selected');
  const all = await exportVia('all', 'json');
  assert.ok(all.equals(readWritten(fixtures, null, 'json')), 'all');
  // A range, only what is displayed.
  const ranged = await exportVia('range', 'pcapng', { range: '1-60', displayedOnly: true });
  assert.ok(ranged.equals(readWritten(fixtures, `(${filter}) && frame.number <= 60`, 'pcapng')), 'range');
});

await test('a deep link reopens the filter and the selected frame', async () => {
  const filter = '${important}';
  const expect = readFrames(fixtures, filter);
  const frame = expect[Math.floor(expect.length / 2)];
  // The hash of the current page says where it is.
  await page.click(`.row.sel`);
  const hash = new URLSearchParams(await page.evaluate(() => location.hash.slice(1)));
  assert.equal(hash.get('filter'), 'tracee.eventName == "net_packet_dns"');
  const link = `${url}#${new URLSearchParams({ filter, frame: String(frame) })}`;
  const p2 = await context.newPage();
  await p2.goto(link);
  await p2.waitForSelector(`.row.sel[data-number="${frame}"]`);
  assert.equal(await p2.inputValue('#filter'), filter);
  await p2.waitForFunction((n) => document.getElementById('status-left').dataset.displayed === String(n), expect.length);
  await p2.waitForFunction((n) => document.getElementById('detail-title').textContent.startsWith(`Frame ${n} `), frame);
  await p2.close();
  await page.bringToFront();
});

await test('filter bar: field-name completion, history and bookmarks', async () => {
  await page.goto(url);
  await waitComplete(page);
  await page.fill('#filter', '');
  await page.type('#filter', 'tracee.args.security_file_o');
  await page.waitForSelector('#complete:not([hidden]) .opt');
  const opts = await page.$$eval('#complete .opt', (os) => os.map((o) => o.dataset.value));
  assert.ok(opts.includes('tracee.args.security_file_open.pathname'), opts.join(' '));
  assert.ok(opts.every((o) => o.startsWith('tracee.args.security_file_o')));
  // Down to pathname, Tab takes it.
  const at = opts.indexOf('tracee.args.security_file_open.pathname');
  for (let i = 0; i < at; i++) await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Tab');
  assert.equal(await page.inputValue('#filter'), 'tracee.args.security_file_open.pathname');
  await page.waitForSelector('#filter-wrap.ok');
  await page.type('#filter', ' contains "tmp" && tracee.proc');
  await page.waitForSelector('#complete:not([hidden]) .opt[data-value="tracee.processName"]');
  await page.click('#complete .opt[data-value="tracee.processName"]');
  assert.equal(await page.inputValue('#filter'), 'tracee.args.security_file_open.pathname contains "tmp" && tracee.processName');
  await page.type('#filter', ' == "bash"');
  const f = await page.inputValue('#filter');
  await page.press('#filter', 'Enter');
  await page.waitForFunction((n) => document.getElementById('status-left').dataset.displayed === String(n)
    && document.getElementById('status-left').dataset.complete === 'true', readFrames(fixtures, f).length);
  // History: the applied filters, most recent first, in the bookmarks menu.
  await page.click('#clear');
  await page.click('#bookmarks');
  const recent = await page.$$eval('#menu > .mi', (ms) => ms.map((m) => m.dataset.label));
  assert.equal(recent[recent.indexOf('Macros') + 1], f);
  await page.click(`#menu > .mi[data-label="${f.replace(/"/g, '\\"')}"]`);
  await page.waitForFunction((x) => document.getElementById('filter').value === x, f);
  // A bookmark of the profile.
  const profile = await apiJson(url, 'api/profile');
  await page.click('#bookmarks');
  await page.hover('#menu > .mi[data-label="Bookmarks"]');
  await page.click(`#menu > .mi[data-label="Bookmarks"] .mi[data-label="${profile.bookmarks[1].label}"]`);
  await page.waitForFunction((n) => document.getElementById('status-left').dataset.displayed === String(n)
    && document.getElementById('status-left').dataset.complete === 'true', readFrames(fixtures, profile.bookmarks[1].filter).length);
  await page.click('#clear');
});

await test('requests without the token, or from another origin, are refused', async () => {
  const u = new URL(url);
  // A fresh profile has no cookie: the page without the token is refused.
  const p2 = await context.newPage();
  await p2.context().clearCookies();
  const r = await p2.goto(`${u.origin}/`);
  assert.equal(r.status(), 403);
  assert.match(await p2.textContent('body'), /token/);
  const r2 = await p2.goto(`${u.origin}/api/status?token=${'0'.repeat(32)}`);
  assert.equal(r2.status(), 403);
  // A page of another origin cannot use the API, token or not (DNS rebinding, or a page that
  // learnt the URL).
  await p2.route('http://evil.example/', (r) => r.fulfill({ contentType: 'text/html', body: '<!doctype html><title>elsewhere</title>' }));
  await p2.goto('http://evil.example/');
  // A simple cross-origin POST is sent without a preflight: only the server can refuse it.
  const post = (filter) => p2.evaluate(([target, f]) => fetch(target, { method: 'POST', mode: 'no-cors', body: JSON.stringify({ filter: f }) })
    .then(() => 'sent', () => 'failed'), [apiUrl(url, 'api/views'), filter]);
  const viewExists = async (f) => (await fetch(apiUrl(url, `api/views?filter=${encodeURIComponent(f)}`))).status === 200;
  await post('frame.number == 77');
  await p2.goto('about:blank');
  await post('frame.number == 78');
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await viewExists('frame.number == 77'), false, 'a page of another origin made a view');
  assert.equal(await viewExists('frame.number == 78'), false, 'an opaque origin made a view');
  // The same request from the UI's own origin works.
  await page.goto(url);
  await page.waitForSelector('.row[data-number="1"]');
  await page.evaluate((f) => fetch('/api/views', { method: 'POST', body: JSON.stringify({ filter: f }) }), 'frame.number == 79');
  assert.equal(await viewExists('frame.number == 79'), true);
  await p2.close();
  await page.bringToFront();
  // The page itself (with the token) still works.
  await page.goto(url);
  await page.waitForSelector('.row[data-number="1"]');
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
  // Bytes that are not UTF-8: the row is there, shown as text.
  await page.click('.row[data-number="6"]');
  await page.waitForFunction(() => document.getElementById('detail-title').textContent.startsWith('Frame 6 '));
  await page.waitForSelector('#bytes-view pre');
  assert.equal(await page.$$eval('#list-rows img, #list-rows script, #tree script, #bytes-view script', (e) => e.length), 0);
  assert.equal(await page.evaluate(() => window.__pwned), undefined, 'no injected script ran');
  // The scrollbar is scaled: the spacer stays under the browsers' height limit.
  const height = await page.$eval('#list-spacer', (s) => s.getBoundingClientRect().height);
  assert.ok(height <= 8_000_000, `spacer height ${height}`);
  await page.focus('#list-scroll');
  const t2 = Date.now();
  await page.keyboard.press('End');
  await page.waitForSelector(`.row[data-number="${EVENTS}"]`);
  console.log(`# End to last row visible in ${Date.now() - t2} ms`);
  // The last row, drawn inside the list (waited for: the page draws on its next frame).
  const inside = (n) => {
    const r = document.querySelector(`.row[data-number="${n}"]`);
    if (!r) return null;
    const b = r.getBoundingClientRect();
    const s = document.getElementById('list-scroll').getBoundingClientRect();
    return b.height > 0 && b.top >= s.top - 1 && b.bottom <= s.bottom + 1;
  };
  try {
    await page.waitForFunction(inside, EVENTS, { timeout: 10_000 });
  } catch {
    const box = await page.$eval(`.row[data-number="${EVENTS}"]`, (r) => {
      const b = r.getBoundingClientRect();
      const s = document.getElementById('list-scroll').getBoundingClientRect();
      return { top: b.top, bottom: b.bottom, stop: s.top, sbottom: s.bottom, connected: r.isConnected,
        disp: getComputedStyle(r).display, vis: document.visibilityState, scrollTop: document.getElementById('list-scroll').scrollTop };
    });
    assert.fail(`last row not inside the list: ${JSON.stringify(box)}`);
  }
  // Dragging the scrollbar to the middle shows the middle rows.
  await page.$eval('#list-scroll', (s) => { s.scrollTop = (s.scrollHeight - s.clientHeight) / 2; });
  const mid = Math.floor(EVENTS / 2);
  await page.waitForFunction((m) => [...document.querySelectorAll('.row[data-number]')]
    .some((r) => Math.abs(Number(r.dataset.number) - m) < 100), mid);
  await page.keyboard.press('End');
  await page.waitForSelector(`.row[data-number="${EVENTS}"]`);
  await page.screenshot({ path: join(shots, 'end-of-large.png') });
});

await test(`on ${EVENTS} events: scrolling, a filter, Ctrl-G in it, a sort (timings logged)`, async () => {
  // Scrolling: 3 s of one wheel-sized step per animation frame; frames drawn, and how many
  // showed rows not yet loaded.
  await page.$eval('#list-scroll', (s) => { s.scrollTop = 0; });
  const scroll = await page.evaluate(() => new Promise((resolve) => {
    const s = document.getElementById('list-scroll');
    let frames = 0;
    let blank = 0;
    const t0 = performance.now();
    const step = () => {
      frames++;
      if (document.querySelector('.row.loading')) blank++;
      s.scrollTop += 120;
      if (performance.now() - t0 < 3000) requestAnimationFrame(step);
      else resolve({ fps: (frames * 1000) / (performance.now() - t0), blank, frames });
    };
    requestAnimationFrame(step);
  }));
  console.log(`# scrolling: ${scroll.fps.toFixed(0)} frames/s, ${scroll.blank} of ${scroll.frames} frames with rows still loading`);
  assert.ok(scroll.frames > 10);
  // A filter over the whole recording: the count of osprey read -Y.
  const filter = 'tracee.processName == "proc5"';
  const t0 = Date.now();
  await page.fill('#filter', filter);
  await page.waitForSelector('#filter-wrap.ok');
  await page.press('#filter', 'Enter');
  await page.waitForFunction((f) => document.getElementById('status-left').dataset.complete === 'true'
    && location.hash.includes(new URLSearchParams({ filter: f }).toString()), filter, { timeout: 600_000 });
  console.log(`# filter ${filter} complete after ${Date.now() - t0} ms`);
  const big = join(scratch, 'big.json');
  const expect = readFrames([big], filter);
  assert.equal(Number(await page.$eval('#status-left', (s) => s.dataset.displayed)), expect.length);
  // Go to a frame in the middle of the view.
  const target = expect[Math.floor(expect.length / 2)];
  page.once('dialog', (d) => d.accept(String(target)));
  const t1 = Date.now();
  await page.keyboard.press('Control+g');
  await page.waitForSelector(`.row.sel[data-number="${target}"]`);
  console.log(`# Ctrl-G to frame ${target} in the filtered view: ${Date.now() - t1} ms`);
  // Sorting the view by Info: the first window asked of the API computes the order.
  const t2 = Date.now();
  const byInfo = await apiJson(bigUrl, `api/rows?limit=50&sort=12&filter=${encodeURIComponent(filter)}`);
  console.log(`# sort of the filtered view (${byInfo.total} rows) by Info, first window: ${Date.now() - t2} ms`);
  assert.equal(byInfo.total, expect.length);
  // And by PID in the list, ascending then descending, then back to frame order.
  await page.click('#list-head .h[data-key="#5"]');
  await page.waitForSelector('#list-head .h.sorted-asc[data-key="#5"]');
  await page.click('#list-head .h[data-key="#5"]');
  await page.click('#list-head .h[data-key="#5"]');
  await page.click('#clear');
  await page.waitForFunction((n) => document.getElementById('status-left').dataset.displayed === String(n), EVENTS);
  const t3 = Date.now();
  await page.click('#list-head .h[data-key="#5"]');
  await page.waitForSelector('#list-head .h.sorted-asc[data-key="#5"]');
  await page.waitForFunction(() => { document.getElementById('list-scroll').scrollTop = 0; const r = document.querySelector('.row[data-offset="0"]'); return r && r.dataset.number; });
  console.log(`# sort of all ${EVENTS} frames by PID: first rows after ${Date.now() - t3} ms`);
  // The rows on screen: PID cells in order, equal cells in frame order (a stable sort).
  const first = await page.$$eval('.row[data-number]', (rs) => rs.map((r) => [Number(r.dataset.number), r.children[5].textContent]));
  const rows = (await apiJson(bigUrl, 'api/rows?offset=0&limit=1000')).rows;
  const lowest = rows.map((r) => r.cells[5]).sort((a, b) => (/^\d+$/.test(a) && /^\d+$/.test(b) ? a - b : a < b ? -1 : a > b ? 1 : 0))[0];
  assert.equal(first[0][1], lowest, 'the first row has the lowest PID');
  for (let i = 1; i < first.length; i++) {
    if (first[i][1] === first[i - 1][1]) assert.ok(first[i][0] > first[i - 1][0], `stable: ${JSON.stringify(first.slice(0, i + 1))}`);
  }
  await page.click('#list-head .h[data-key="#5"]');
  await page.click('#list-head .h[data-key="#5"]');
});

await test('nothing was fetched from outside the binary, no script error', async () => {
  assert.deepEqual(outside, []);
  assert.deepEqual(pageErrors, []);
});

await finish();
