// End-to-end test of the statistics windows, the process tree, the process page and the lineage
// breadcrumb of `osprey view`, in Debian's chromium driven by playwright-core (as
// tests/browser.mjs). Every number a window shows is checked against what `osprey read -z VIEW
// -T json` prints for the same filter, and every click that filters the main list against
// `osprey read -Y`. Screenshots go to target/view-screenshots/.
//
// OSPREY_BIN picks the binary (default: target/release/osprey if built, else target/debug).

import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { generateProcs } from './gen-procs.mjs';
import {
  bin, shots, DEMO, scratchDir, test, serve, readFrames, readZ, launch, finish,
} from './harness.mjs';


const scratch = scratchDir('osprey-stats-test-');

/** Closes every window and clears the main filter (the next test starts from there). */
async function reset() {
  await page.$$eval('.panel .panel-close', (xs) => xs.forEach((x) => x.click())).catch(() => {});
  if (await page.$eval('#filter', (i) => i.value).catch(() => '')) await filterBy('').catch(() => {});
}



const { page, outside, pageErrors } = await launch();
page.setDefaultTimeout(20_000);

async function docShot(name) {
  await page.setViewportSize({ width: 1100, height: 620 });
  await page.waitForTimeout(200);
  await page.screenshot({ path: join(shots, name) });
  await page.setViewportSize({ width: 1400, height: 900 });
}
async function waitComplete() {
  await page.waitForFunction(() => document.getElementById('status-left')?.dataset.complete === 'true', null, { timeout: 120_000 });
}
const displayed = async () => Number(await page.$eval('#status-left', (s) => s.dataset.displayed));
/** Waits for the main list to show FILTER, complete. */
async function waitFilter(filter) {
  await page.waitForFunction((f) => document.getElementById('status-left').dataset.complete === 'true'
    && document.getElementById('filter').value === f
    && (f ? location.hash.includes(new URLSearchParams({ filter: f }).toString()) : !location.hash.includes('filter=')),
  filter, { timeout: 60_000 });
}
async function filterBy(filter) {
  await page.fill('#filter', filter);
  await page.press('#filter', 'Enter');
  await waitFilter(filter);
}
/** Clicks the Analyze menu's path of items. */
async function analyze(...path) {
  await page.click('#analyze');
  let scope = '#menu';
  for (const [k, label] of path.entries()) {
    const item = `${scope} > .mi[data-label="${label.replace(/"/g, '\\"')}"]`;
    await page.waitForSelector(item);
    if (k < path.length - 1) { await page.hover(item); scope = `${item} > .submenu`; } else await page.click(item);
  }
}
/** Waits for the window `sel` to have computed, and makes it tall enough to show its rows. */
async function windowDone(sel) {
  await page.waitForSelector(`${sel}[data-state="done"]`, { timeout: 120_000 });
  await page.$eval(sel, (p) => { p.style.height = '800px'; p.style.width = '1000px'; p.style.top = '60px'; });
  await page.waitForTimeout(100);
}
/** The rows a window shows: name, depth, cells, filter. */
const windowRows = (sel) => page.$$eval(`${sel} .tt-row`, (rs) => rs.map((r) => ({
  name: r.dataset.name, depth: Number(r.dataset.depth), filter: r.dataset.filter ?? '',
  cells: [...r.querySelectorAll('.tt-c')].map((c) => c.textContent),
})));
const num = (s) => Number(String(s).replace(/,/g, ''));

const url = await serve([DEMO]);
await page.goto(url);
await waitComplete();
// The runs the Statistics windows get for their views without a filter of their own (until
// the preferences change, below): each should be the one the index pass counted.
const windowRuns = [];
const onRun = async (r) => {
  if (r.request().method() !== 'POST' || new URL(r.url()).pathname !== '/api/stats') return;
  const asked = JSON.parse(r.request().postData() ?? '{}');
  const state = await r.json().catch(() => null);
  const view = asked.views?.join(' ') ?? '';
  // The timeline's histogram, the I/O graph and the process page are not windows' views.
  if (/^(tracee,timeline|io,stat|tracee,process,)/.test(view)) return;
  if (asked.filter === '' && state) windowRuns.push([view, state.in_index_pass]);
};
page.on('response', onRun);

const EC = '#panel-stats-event-counts';
await test('Event Counts opens with the counts of read -z tracee,event_counts, sorted by count', async () => {
  await analyze('Statistics', 'Event Counts');
  await windowDone(EC);
  const cli = readZ([DEMO], 'tracee,event_counts');
  const rows = await windowRows(EC);
  const events = cli.nodes.find((n) => n.name === 'Events');
  assert.equal(num(rows.find((r) => r.name === 'Events' && r.depth === 0).cells[1]), events.count);
  const shown = rows.filter((r) => r.depth === 1);
  assert.equal(shown.length, events.children.length);
  for (const c of events.children) assert.equal(num(shown.find((r) => r.name === c.name)?.cells[1]), c.count, c.name);
  const counts = shown.map((r) => num(r.cells[1]));
  assert.deepEqual(counts, counts.slice().sort((a, b) => b - a));
  // A click on the Count header sorts the other way.
  await page.click(`${EC} .tt-h[data-col="1"]`);
  const up = (await windowRows(EC)).filter((r) => r.depth === 1).map((r) => num(r.cells[1]));
  assert.deepEqual(up, up.slice().sort((a, b) => a - b));
  await page.click(`${EC} .tt-h[data-col="1"]`);
  await docShot('stats-event-counts.png');
});

const PID_FILTER = 'tracee.hostProcessId == 21847';
await test('a window filter narrows the counts as read -Y does', async () => {
  await page.fill(`${EC} .st-filter-input`, PID_FILTER);
  await page.waitForSelector(`${EC} .st-filter-input.ok`);
  await page.press(`${EC} .st-filter-input`, 'Enter');
  await page.waitForFunction((s) => document.querySelector(s)?.dataset.state === 'running', EC).catch(() => {});
  await windowDone(EC);
  const cli = readZ([DEMO], 'tracee,event_counts', PID_FILTER);
  const rows = (await windowRows(EC)).filter((r) => r.depth === 1);
  const events = cli.nodes.find((n) => n.name === 'Events');
  assert.equal(rows.length, events.children.length);
  for (const c of events.children) assert.equal(num(rows.find((r) => r.name === c.name)?.cells[1]), c.count, c.name);
  // A red box for a filter that does not compile; the counts stay.
  await page.fill(`${EC} .st-filter-input`, 'tracee.hostProcessId ==');
  await page.waitForSelector(`${EC} .st-filter-input.bad`);
  await page.fill(`${EC} .st-filter-input`, PID_FILTER);
  await page.waitForSelector(`${EC} .st-filter-input.ok`);
});

await test('a click on a row filters the main list to it (combined with the window filter)', async () => {
  await page.click(`${EC} .tt-row[data-name="security_file_open"]`);
  const expect = `tracee.eventName == "security_file_open" && ${PID_FILTER}`;
  await waitFilter(expect);
  assert.equal(await displayed(), readFrames([DEMO], expect).length);
  assert.ok(await displayed() > 0);
  await page.click(`${EC} .panel-close`);
  await filterBy('');
});

// Every other window: its numbers are the CLI's, and a click on a row with a filter shows the
// frames `read -Y` selects with it.
const windows = [
  [['Statistics', 'Event Counts per Container'], 'tracee,event_counts,container', 'event-counts-container'],
  [['Statistics', 'File Types'], 'tracee,file_types', 'file-types'],
  ...['Standard', 'With Opened Files', 'With Written Files', 'With Network', 'With Signatures'].flatMap((t, i) => [false, true].map((c) => {
    const v = ['tracee,process_tree', ['', 'opened_files', 'written_files', 'network', 'signatures'][i], c ? 'container' : ''].filter(Boolean).join(',');
    return [['Statistics', 'Process Trees', `${t}${c ? ' per Container' : ''}`], v, v.replace(/[^\w]+/g, '-')];
  })),
  [['Statistics', 'Protocol Hierarchy'], 'io,phs', 'phs'],
  [['Statistics', 'DNS'], 'dns,tree', 'dns'],
  [['Statistics', 'HTTP'], 'http,tree', 'http'],
];
for (const [path, view, id] of windows) {
  await test(`${path.slice(1).join(' ▸ ')} opens with read -z ${view}'s numbers; a row click filters`, async () => {
    const sel = `#panel-stats-${id}`;
    await reset();
    await analyze(...path);
    await windowDone(sel);
    const cli = readZ([DEMO], view);
    const rows = await windowRows(sel);
    const top = rows.filter((r) => r.depth === 0);
    if (cli.type === 'protocol_hierarchy') {
      assert.deepEqual(top.map((r) => [r.name, num(r.cells[2])]), cli.nodes.map((n) => [n.protocol, n.frames]));
    } else {
      assert.deepEqual(top.map((r) => [r.name, num(r.cells[1])]).sort(), cli.nodes.map((n) => [n.name, n.count]).sort());
    }
    // A row well inside the window (a virtualized list re-renders as it scrolls).
    const withFilter = rows.slice(0, 25).filter((r) => r.filter && r.depth > 0 && r.name !== 'Host').pop() ?? rows.find((r) => r.filter);
    if (withFilter) {
      await page.click(`${sel} .tt-row[data-index="${rows.indexOf(withFilter)}"]`);
      await waitFilter(withFilter.filter);
      assert.equal(await displayed(), readFrames([DEMO], withFilter.filter).length, withFilter.filter);
    }
    await reset();
  });
}

for (const kind of ['conv', 'endpoints']) {
  await test(`${kind === 'conv' ? 'Conversations' : 'Endpoints'}: IP/TCP/UDP tabs with read -z ${kind},TYPE's rows; a row click filters`, async () => {
    const sel = `#panel-stats-${kind}`;
    await reset();
    await analyze('Statistics', kind === 'conv' ? 'Conversations' : 'Endpoints');
    for (const t of ['ip', 'tcp', 'udp']) {
      await page.click(`${sel} .st-tab[data-view="${kind},${t}"]`);
      await page.waitForTimeout(50);
      await windowDone(sel);
      const cli = readZ([DEMO], `${kind},${t}`);
      const list = cli.conversations ?? cli.endpoints;
      const rows = await windowRows(sel);
      assert.equal(rows.length, list.length, `${kind},${t}`);
      const frames = rows.map((r) => num(r.cells[t === 'ip' ? (kind === 'conv' ? 2 : 1) : (kind === 'conv' ? 4 : 2)])).sort();
      const want = list.map((c) => (kind === 'conv' ? c.frames_a_to_b + c.frames_b_to_a : c.tx_frames + c.rx_frames)).sort();
      assert.deepEqual(frames, want);
      if (t === 'udp' && rows.length) {
        await page.click(`${sel} .tt-row[data-index="0"]`);
        await waitFilter(rows[0].filter);
        assert.equal(await displayed(), readFrames([DEMO], rows[0].filter).length);
      }
    }
    await page.click(`${sel} .panel-close`);
    await filterBy('');
  });
}

await test('Save as CSV / JSON / text give the table, the result and the text as is', async () => {
  await reset();
  await analyze('Statistics', 'Event Counts');
  await windowDone(EC);
  const saves = {};
  for (const [label, kind] of [['Save as JSON…', 'json'], ['Save as text…', 'txt'], ['Save as CSV…', 'csv']]) {
    await page.click(`${EC} .panel-bar button:has-text("Copy / Save")`);
    const [dl] = await Promise.all([page.waitForEvent('download'), page.click(`#menu .mi[data-label="${label}"]`)]);
    const file = join(scratch, `save.${kind}`);
    await dl.saveAs(file);
    saves[kind] = (await import('node:fs')).readFileSync(file, 'utf8');
  }
  const cli = readZ([DEMO], 'tracee,event_counts');
  const saved = JSON.parse(saves.json);
  delete saved.elapsed_ms; delete cli.elapsed_ms;
  assert.deepEqual(saved, cli);
  const text = execFileSync(bin, ['read', '-q', '-z', 'tracee,event_counts', '-r', DEMO], { encoding: 'utf8' });
  assert.equal(saves.txt.split('\n').filter((l) => !/elapsed/i.test(l)).length, text.split('\n').filter((l) => !/elapsed/i.test(l)).length);
  assert.match(saves.csv, /^Level,Event Name,Count,Percent,Rate \(\/s\)\n/);
  assert.match(saves.csv, /\n1,security_file_open,153,/);
  await page.click(`${EC} .panel-close`);
});

await test('closing a window, or changing its filter, cancels its run (DELETE /api/stats/ID)', async () => {
  await reset();
  // The run's answers held back, so that the window is still waiting when it is closed.
  const deletes = [];
  const onReq = (r) => { if (r.method() === 'DELETE' && /\/api\/stats\/\d+/.test(r.url())) deletes.push(r.url()); };
  page.on('request', onReq);
  const hold = async (route) => {
    if (route.request().method() === 'GET') await new Promise((r) => setTimeout(r, 1500));
    await route.continue().catch(() => {});
  };
  await page.route(/\/api\/stats\/\d+/, hold);
  try {
    await analyze('Statistics', 'HTTP');
    await page.waitForSelector('#panel-stats-http[data-state="running"]');
    await page.fill('#panel-stats-http .st-filter-input', 'http');
    await page.waitForSelector('#panel-stats-http .st-filter-input.ok');
    await page.press('#panel-stats-http .st-filter-input', 'Enter');
    await page.waitForFunction(() => true);
    await page.waitForTimeout(300);
    assert.equal(deletes.length, 1, 'the filter change cancels the first run');
    await page.click('#panel-stats-http .panel-close');
    await page.waitForTimeout(300);
    assert.equal(deletes.length, 2, 'closing cancels the second');
  } finally {
    await page.unroute(/\/api\/stats\/\d+/, hold);
    page.off('request', onReq);
  }
});

await test("every window's own view was counted by the index pass, not by a pass of its own", async () => {
  page.off('response', onRun);
  const views = new Set(windowRuns.map(([v]) => v));
  for (const v of ['tracee,event_counts', 'tracee,process_tree', 'conv,tcp', 'endpoints,udp', 'io,phs', 'dns,tree', 'http,tree']) {
    assert.ok(views.has(v), `${v} was opened: ${[...views]}`);
  }
  assert.deepEqual(windowRuns.filter(([, inPass]) => !inPass), [], 'runs of their own');
});

// ---------- the process page and the breadcrumb (demo recording) ----------
const PP = '#panel-process-21847';
await test('a row menu opens the process page; its items go to their frames', async () => {
  await reset();
  await filterBy(PID_FILTER);
  const first = readFrames([DEMO], PID_FILTER)[0];
  await page.click(`.row[data-number="${first}"]`, { button: 'right' });
  await page.click('#menu > .mi[data-label="Process page"]');
  await page.waitForSelector(`${PP}[data-state="done"]`, { timeout: 60_000 });
  const label = await page.$eval(`${PP} .pp-label`, (h) => h.textContent);
  assert.match(label, /^21847 \(python3 -> update\.sh\): \/usr\/bin\/dash: \/bin\/sh /);
  const sections = await page.$$eval(`${PP} .pp-section`, (ss) => ss.map((s) => s.dataset.section));
  for (const s of ['Ancestors', 'Children', 'Execs', 'Events', 'Files opened']) assert.ok(sections.includes(s), s);
  await filterBy('');
  // The exec: the frame of its sched_process_exec.
  await page.click(`${PP} .pp-section[data-section="Execs"] .pp-item`);
  const exec = readFrames([DEMO], `${PID_FILTER} && tracee.eventName == "sched_process_exec"`)[0];
  await page.waitForFunction((n) => document.body.dataset.wentTo === String(n), exec);
  await page.waitForSelector(`.row.sel[data-number="${exec}"]`);
  // A file opened: the frame of its first open.
  await page.click(`${PP} .pp-section[data-section="Files opened"] .pp-item:has-text("/etc/ld.so.cache")`);
  const open = readFrames([DEMO], `${PID_FILTER} && tracee.args.security_file_open.pathname == "/etc/ld.so.cache"`)[0];
  await page.waitForFunction((n) => document.body.dataset.wentTo === String(n), open);
  await page.waitForSelector(`.row.sel[data-number="${open}"]`);
  await page.$eval(PP, (p) => { p.style.left = '420px'; p.style.width = '670px'; p.style.top = '40px'; p.style.height = '560px'; p.querySelector('.panel-body').scrollTop = 0; });
  await docShot('process-page.png');
  await page.click(`${PP} .panel-close`);
});

await test('the lineage breadcrumb shows the ancestors of the selected event; each opens its page', async () => {
  const f = 'tracee.hostProcessId == 21849';
  await filterBy(f);
  const first = readFrames([DEMO], f)[0];
  await page.click(`.row[data-number="${first}"]`);
  await page.waitForSelector('#lineage .lineage-item.self[data-pid="21849"]');
  const items = await page.$$eval('#lineage .lineage-item', (as) => as.map((a) => [a.dataset.pid, a.textContent]));
  assert.deepEqual(items.map((i) => i[0]), ['21834', '21837', '21847', '21849']);
  assert.match(items[3][1], /^21849 \(update\.sh -> id\): \/usr\/bin\/id: id$/);
  await page.click('#lineage .lineage-item[data-pid="21847"]');
  await page.waitForSelector(`${PP}[data-state="done"]`);
  await page.click(`${PP} .panel-close`);
  // The detail's field menu has the entry too.
  await page.click('#tree >> text=/^Process: 21849/', { button: 'right' });
  await page.click('#menu > .mi[data-label="Process page"]');
  await page.waitForSelector('#panel-process-21849[data-state="done"]');
  assert.match(await page.$eval('#panel-process-21849 .pp-label', (h) => h.textContent), /^21849 \(update\.sh -> id\)/);
  await filterBy('');
});

// ---------- the process tree (a generated container recording) ----------
const PROCS = join(scratch, 'procs.jsonl');
const procs = await generateProcs(PROCS, 60);
const procUrl = await serve([PROCS]);
await test('the process tree: re-exec history, exit codes, PID-format labels, subtree filter', async () => {
  await page.goto(procUrl);
  await waitComplete();
  await analyze('Process Tree');
  const PT = '#panel-process-tree';
  await windowDone(PT);
  const cli = readZ([PROCS], 'tracee,process_tree');
  let count = 0;
  const walk = (ns) => { for (const n of ns) { if (n.process) count++; walk(n.children ?? []); } };
  walk(cli.nodes);
  assert.equal(Number(await page.$eval(PT, (p) => p.dataset.processes)), count);
  let rows = await windowRows(PT);
  const two = rows.find((r) => r.name.startsWith('2 ('));
  assert.equal(two.name, '2 (init -> sh -> python3): /bin/sh: sh -c job 0 -> /usr/bin/python3: python3 job0.py');
  assert.equal(two.cells[3], '/bin/sh → /usr/bin/python3');
  assert.equal(two.cells[4], '0');
  // The PID format preference: both namespace and host PIDs.
  await page.selectOption(`${PT} .pid-format`, 'both');
  await page.waitForFunction(() => [...document.querySelectorAll('#panel-process-tree .tt-row')].some((r) => r.dataset.name.startsWith('2 (7001) (')), null, { timeout: 60_000 });
  await windowDone(PT);
  const both = readZ([PROCS], 'tracee,process_tree', '', ['-o', 'pid_format:both']);
  rows = await windowRows(PT);
  const want = both.nodes[0].children[0].name;
  assert.ok(rows.some((r) => r.name === want), `${want} in ${rows.map((r) => r.name).slice(0, 5)}`);
  await docShot('process-tree.png');
  // Collapse and expand a row.
  const shownRows = async () => Number(await page.$eval(`${PT} .tt`, (t) => t.dataset.rows));
  const before = await shownRows();
  const i2 = rows.findIndex((r) => r.name.startsWith('2 (7001)'));
  await page.click(`${PT} .tt-row[data-index="${i2}"] .tt-toggle`);
  assert.notEqual(await shownRows(), before);
  await page.click(`${PT} .tt-row[data-index="${i2}"] .tt-toggle`);
  assert.equal(await shownRows(), before);
  // Subtree of host 7001: itself and its descendants.
  await page.click(`${PT} .tt-row[data-index="${i2}"]`);
  await page.click(`${PT} .pt-act[data-act="Filter to subtree"]`);
  const sub = new Set([7001]);
  for (const p of procs) if (sub.has(p.hostParent)) sub.add(p.host);
  await page.waitForFunction(() => document.getElementById('filter').value.startsWith('tracee.hostProcessId in {'));
  const f = await page.$eval('#filter', (i) => i.value);
  assert.deepEqual(new Set(f.match(/\{(.*)\}/)[1].split(' ').map(Number)), sub);
  await waitFilter(f);
  assert.equal(await displayed(), readFrames([PROCS], f).length);
  // Filter to the process alone.
  await page.click(`${PT} .pt-act[data-act="Filter to process"]`);
  await waitFilter('tracee.hostProcessId == 7001');
  assert.equal(await displayed(), readFrames([PROCS], 'tracee.hostProcessId == 7001').length);
  await page.selectOption(`${PT} .pid-format`, 'container');
  // Per container: the processes under their container, as read -z ...,container groups them.
  await page.check(`${PT} .st-check input`);
  await page.waitForFunction(() => document.querySelector('#panel-process-tree .tt-row[data-depth="0"]')?.dataset.name !== '6999');
  await windowDone(PT);
  const byContainer = readZ([PROCS], 'tracee,process_tree,container');
  const tops = (await windowRows(PT)).filter((r) => r.depth === 0).map((r) => [r.name, num(r.cells[1])]);
  assert.deepEqual(tops, byContainer.nodes.map((n) => [n.name, n.count]));
});

await test('a subtree whose filter would pass 16 KiB is refused with a message', async () => {
  const HUGE = join(scratch, 'huge.jsonl');
  await generateProcs(HUGE, 3500);
  await page.goto(await serve([HUGE]));
  await waitComplete();
  await analyze('Process Tree');
  const PT = '#panel-process-tree';
  await windowDone(PT);
  const rows = await windowRows(PT);
  await page.click(`${PT} .tt-row[data-index="${rows.findIndex((r) => r.name.startsWith('1 (init)'))}"]`);
  await page.click(`${PT} .pt-act[data-act="Filter to subtree"]`);
  await page.waitForFunction(() => document.getElementById('status-msg').textContent.includes('16 KiB'));
  assert.equal(await page.$eval('#filter', (i) => i.value), '');
  // A smaller subtree still works.
  await page.click(`${PT} .tt-row[data-index="${rows.findIndex((r) => r.name.startsWith('2 ('))}"]`);
  await page.click(`${PT} .pt-act[data-act="Filter to subtree"]`);
  await page.waitForFunction(() => document.getElementById('filter').value.startsWith('tracee.hostProcessId in {'));
});

assert.deepEqual(outside, [], 'no request left 127.0.0.1');
await test('no page errors', async () => assert.deepEqual(pageErrors, []));

await finish();
