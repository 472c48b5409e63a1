// The process tree as a view of its own (virtualized, labels under the PID-format preference,
// exec history, exit codes, containers), the process page (`-z tracee,process,PID`: execs,
// files, connections, DNS, packets, signatures, artifacts — each item goes to its frame) and
// the lineage breadcrumb above every event's detail. All computed by the server's engine.
import { api, app, copy, el, message, openPanel, showMenu, type Detail, type MenuItem } from './core';
import { and, Cancel, extraRowItems, filterBox, MAX_FILTER, procFilter, progressText, quote, runStats, type Exec, type Proc } from './stats';
import { TreeTable, type TRow } from './treetable';

interface PNode { name: string; count: number; own?: number; process?: Proc; children?: PNode[] }
/** `-z tracee,process_tree` as `-T json`. */
interface TreeResult { nodes: PNode[] }
/** One process of `-z tracee,process,PID` as `-T json`. */
interface ProcessPage {
  process: Proc; label: string; ancestors: string[]; children: string[]; execs?: (Exec & { sha256?: string })[];
  packets: number; packet_bytes: number;
  events: { name: string; count: number; first: number }[];
  files_opened: { name: string; count: number; first: number }[];
  files_written: { path: string; file_type?: string; count: number; sha256?: string[] }[];
  connections: { name: string; count: number; first: number }[];
  dns: { name: string; messages: number; answers?: string[] }[];
  peers: { protocol: string; address: string; frames: number; bytes: number }[];
  signatures: { name: string; count?: number; first?: number }[];
  artifacts: { kind: string; original_path: string; size: number; sha256: string; complete: boolean }[];
}

// ---------- the global tree, for lookups (breadcrumb, ancestors' pages) ----------
let globalTree: { id: number; nodes: PNode[] } | null = null;
let globalLoading: Promise<PNode[]> | null = null;
/** The unfiltered process tree (the server caches the run; this caches its parse). */
async function fullTree(): Promise<PNode[]> {
  if (globalLoading) return globalLoading;
  globalLoading = (async () => {
    const { status, body } = await api<{ id: number; done: boolean }>('/api/stats', {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ views: ['tracee,process_tree'], filter: '' }),
    });
    if (status === 200 && globalTree && globalTree.id === body.id) return globalTree.nodes;
    const [out] = await runStats(['tracee,process_tree'], '');
    globalTree = { id: status === 200 ? body.id : -1, nodes: (out.result as TreeResult).nodes };
    return globalTree.nodes;
  })();
  try { return await globalLoading; } finally { globalLoading = null; }
}

/** The path from a root to the process `hostPid` that ran at `ts` (ns; the latest started
 * before it when the PID was reused). */
function findPath(nodes: PNode[], hostPid: number, ts?: number): PNode[] | null {
  let best: PNode[] | null = null;
  let bestStart = -Infinity;
  const walk = (ns: PNode[], path: PNode[]) => {
    for (const n of ns) {
      const p = [...path, n];
      if (n.process?.host_pid === hostPid) {
        const st = n.process.start_time ?? 0;
        const fits = ts === undefined || st <= ts;
        const score = fits ? st : -1e30 + st;
        if (!best || score > bestStart) { best = p; bestStart = score; }
      }
      if (n.children) walk(n.children, p);
    }
  };
  walk(nodes, []);
  return best;
}

function field(d: Detail, name: string): string | undefined {
  return d.tree.find((n) => n.field === name)?.value;
}
const nsOf = (epoch?: string) => {
  if (!epoch) return undefined;
  const [s, f = ''] = epoch.split('.');
  return Number(s) * 1e9 + Number((f + '000000000').slice(0, 9));
};
/** An event's time as a filter literal of frame.time_epoch. */
const epochText = (ns: number) => {
  const b = BigInt(Math.round(ns));
  return `${b / 1000000000n}.${(b % 1000000000n).toString().padStart(9, '0')}`;
};

// ---------- going to an item's frame ----------
/** The first frame `filter` selects, or null. */
async function firstFrame(filter: string): Promise<number | null> {
  const v = await api<{ matched: number; done: boolean }>('/api/views', {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ filter }),
  });
  if (v.status !== 200) return null;
  for (let i = 0; i < 600; i++) {
    const r = await api<{ total: number; complete: boolean; rows: { number: number }[] }>(`/api/rows?offset=0&limit=1&filter=${encodeURIComponent(filter)}`);
    if (r.status === 200 && r.body.rows.length) return r.body.rows[0].number;
    if (r.status === 200 && r.body.complete) return null;
    await new Promise((res) => setTimeout(res, 50));
  }
  return null;
}

/** Goes to the first frame of `filter` in the main list, keeping the list's filter when it
 * shows that frame, else filtering it to `scope` (the process). */
async function goTo(filter: string, scope: string, fallback?: string): Promise<number | null> {
  let n = await firstFrame(filter);
  if (n === null && fallback) n = await firstFrame(fallback);
  if (n === null) { message('No frame of this item is in the recording'); return null; }
  const cur = app.currentFilter();
  let shown = !cur;
  if (cur) {
    const f = await api<{ exact: boolean }>(`/api/find?frame=${n}&filter=${encodeURIComponent(cur)}`);
    shown = f.status === 200 && f.body.exact;
  }
  if (!shown) await app.applyFilter(scope);
  await app.goToFrame(n);
  document.body.dataset.wentTo = String(n);
  return n;
}

// ---------- the process page ----------
type Item = { cells: string[]; filter?: string; fallback?: string; open?: () => void };

export async function openProcessPage(id: number) {
  const panel = openPanel(`process-${id}`, `Process ${id}`);
  panel.root.classList.add('process-page');
  const status = el('span', 'st-status');
  status.replaceChildren(el('span', 'spinner'), document.createTextNode(' Computing…'));
  panel.bar.appendChild(status);
  panel.root.dataset.state = 'running';
  const cancel = new Cancel();
  panel.root.querySelector('.panel-close')?.addEventListener('click', () => cancel.cancel());
  let out;
  try {
    [out] = await runStats([`tracee,process,${id}`], '', undefined, cancel);
  } catch (e) {
    status.textContent = (e as Error).message;
    panel.root.dataset.state = 'error';
    return;
  }
  status.textContent = '';
  const copyText = el('button', '', 'Copy as text');
  copyText.addEventListener('click', () => void copy(out.text));
  panel.bar.appendChild(copyText);
  const procs = (out.result as { processes: ProcessPage[] }).processes;
  if (!procs.length) panel.body.appendChild(el('p', 'pp-none', `No process ${id} in the recording.`));
  const tree = await fullTree().catch(() => [] as PNode[]);
  for (const p of procs) {
    const proc = p.process;
    const pf = procFilter(proc);
    const sec = el('div', 'pp-proc');
    const h = el('h3', 'pp-label', p.label);
    sec.appendChild(h);
    const facts: [string, string][] = [
      ['PID', `${proc.pid} (host ${proc.host_pid})`],
      ['Names', proc.names.join(' → ')],
      ['Executable', proc.executable ?? ''],
      ['Exit', proc.exit ? `code ${proc.exit.code}${proc.exit.signal ? `, signal ${proc.exit.signal}` : ''}` : 'not seen'],
      ['Events', String(p.events.reduce((s, e) => s + e.count, 0))],
      ['Packets', `${p.packets} (${p.packet_bytes} bytes)`],
    ];
    if (proc.container) facts.push(['Container', proc.container]);
    const dl = el('div', 'pp-facts');
    for (const [k, v] of facts) { dl.appendChild(el('span', 'k', k)); dl.appendChild(el('span', 'v', v)); }
    sec.appendChild(dl);
    // Ancestors (root first) and children: each opens its page.
    const byLabel = (label: string) => {
      const walk = (ns: PNode[]): PNode | null => {
        for (const n of ns) { if (n.name === label) return n; const c = n.children && walk(n.children); if (c) return c; }
        return null;
      };
      return walk(tree);
    };
    const link = (label: string): Item => {
      const n = byLabel(label);
      return { cells: [label], open: n?.process ? () => void openProcessPage(n.process!.host_pid) : undefined };
    };
    // JSON numbers keep ~256 ns of a nanosecond epoch: a ±1 µs window around it.
    const at = (t: number) => `frame.time_epoch >= ${epochText(t - 1000)} && frame.time_epoch <= ${epochText(t + 1000)}`;
    const ev = (name: string, t: number) => and(pf, `tracee.eventName == ${quote(name)}`, at(t));
    const sections: [string, string[], Item[]][] = [
      ['Ancestors', ['Process'], p.ancestors.slice().reverse().map(link)],
      ['Children', ['Process'], p.children.map(link)],
      ['Execs', ['Time', 'Image', 'Command line', 'SHA-256'], ((p.execs ?? proc.execs ?? []) as (Exec & { sha256?: string })[]).map((x) => ({ cells: [epochText(x.time), x.pathname, x.command_line ?? '', x.sha256 ?? ''], filter: ev('sched_process_exec', x.time), fallback: and(pf, 'tracee.eventName == "sched_process_exec"') }))],
      ['Events', ['Event', 'Count'], p.events.map((x) => ({ cells: [x.name, String(x.count)], filter: ev(x.name, x.first), fallback: and(pf, `tracee.eventName == ${quote(x.name)}`) }))],
      ['Files opened', ['File', 'Count'], p.files_opened.map((x) => ({ cells: [x.name, String(x.count)], filter: and(pf, at(x.first)), fallback: and(pf, `tracee.args.security_file_open.pathname == ${quote(x.name.replace(/^\([A-Z]+\): /, ''))}`) }))],
      ['Files written', ['File', 'Type', 'Count', 'SHA-256'], p.files_written.map((x) => ({ cells: [x.path, x.file_type ?? '', String(x.count), (x.sha256 ?? []).join(' ')], filter: and(pf, 'tracee.eventName == "magic_write"', `tracee.args.magic_write.pathname == ${quote(x.path)}`), fallback: and(pf, 'tracee.eventName == "magic_write"') }))],
      ['Connections', ['Connection', 'Count'], p.connections.map((x) => ({ cells: [x.name, String(x.count)], filter: and(pf, at(x.first)) }))],
      ['DNS', ['Name', 'Messages', 'Answers'], p.dns.map((x) => ({ cells: [x.name, String(x.messages), (x.answers ?? []).join(', ')], filter: and(pf, `dns.qry.name == ${quote(x.name)}`), fallback: `dns.qry.name == ${quote(x.name)}` }))],
      ['Packets by peer', ['Protocol', 'Peer', 'Frames', 'Bytes'], p.peers.map((x) => {
        const m = String(x.address).match(/^(.*):(\d+)$/);
        const f = m ? and(`ip.addr == ${m[1].replace(/^\[|\]$/g, '')}`, `${String(x.protocol).toLowerCase() === 'udp' ? 'udp' : 'tcp'}.port == ${m[2]}`) : '';
        return { cells: [x.protocol, x.address, String(x.frames), String(x.bytes)], filter: f ? and(pf, f) : undefined, fallback: f || undefined };
      })],
      ['Signatures', ['Signature', 'Count'], p.signatures.map((x) => ({ cells: [x.name, String(x.count ?? '')], filter: x.first ? and(pf, at(x.first)) : undefined, fallback: and(pf, 'tracee.isSignature == 1') }))],
      ['Artifacts', ['Kind', 'Path', 'Size', 'SHA-256', 'Complete'], p.artifacts.map((x) => ({ cells: [x.kind, x.original_path, String(x.size), x.sha256, x.complete ? 'yes' : 'no'] }))],
    ];
    for (const [title, heads, items] of sections) {
      if (!items.length) continue;
      const s = el('div', 'pp-section');
      s.dataset.section = title;
      s.appendChild(el('h4', '', `${title} (${items.length})`));
      const t = el('table', 'pp-table');
      const hr = el('tr');
      for (const hd of heads) hr.appendChild(el('th', '', hd));
      t.appendChild(hr);
      for (const it of items) {
        const tr = el('tr', it.filter || it.open ? 'pp-item go' : 'pp-item');
        for (const c of it.cells) tr.appendChild(el('td', '', c));
        if (it.open) { tr.title = 'Open its process page'; tr.addEventListener('click', it.open); } else if (it.filter) {
          tr.title = 'Go to its frame';
          tr.addEventListener('click', () => void goTo(it.filter!, pf, it.fallback));
        }
        t.appendChild(tr);
      }
      s.appendChild(t);
      sec.appendChild(s);
    }
    panel.body.appendChild(sec);
  }
  panel.root.dataset.state = 'done';
}

// ---------- the process tree view ----------
/** The processes of a node and its descendants. */
function subtreeProcs(n: PNode, out: Proc[] = []): Proc[] {
  if (n.process) out.push(n.process);
  for (const c of n.children ?? []) subtreeProcs(c, out);
  return out;
}
const subtreePids = (n: PNode) => new Set(subtreeProcs(n).map((p) => p.host_pid));
/** The filter of a process and its descendants (their entity IDs when every one has one, else
 * their host PIDs), or null when it would pass the 16 KiB limit of a filter. */
export function subtreeFilter(n: PNode): string | null {
  const procs = subtreeProcs(n);
  const byEntity = procs.every((p) => p.entity_id);
  const name = byEntity ? 'tracee.processEntityId' : 'tracee.hostProcessId';
  const ids = [...new Set(procs.map((p) => (byEntity ? p.entity_id! : p.host_pid)))];
  const f = ids.length === 1 ? `${name} == ${ids[0]}` : `${name} in {${ids.join(' ')}}`;
  return f.length > MAX_FILTER ? null : f;
}

const execHistory = (p?: Proc) => (p?.execs ?? []).map((x) => x.pathname).join(' → ');
const exitText = (p?: Proc) => (p?.exit ? (p.exit.signal ? `signal ${p.exit.signal}` : String(p.exit.code)) : '');

function toRows(nodes: PNode[]): TRow[] {
  return nodes.map((n) => ({
    cells: [n.name, n.count, n.own ?? '', execHistory(n.process), exitText(n.process)],
    filter: n.process ? procFilter(n.process) : n.name === 'Host' ? 'tracee.container_col == ""' : `tracee.container_col == ${quote(n.name)}`,
    data: n,
    children: n.children?.length ? toRows(n.children) : undefined,
  }));
}

function processItems(n: PNode, windowFilter: string): MenuItem[] {
  if (!n.process) return [];
  const p = n.process;
  return [
    { label: 'Filter to this process', action: () => void app.applyFilter(and(procFilter(p), windowFilter)) },
    { label: 'Filter to this process and its descendants', action: () => filterSubtree(n, windowFilter) },
    { label: 'Process page', action: () => void openProcessPage(p.host_pid) },
    { label: 'Copy label', action: () => void copy(n.name) },
  ];
}
function filterSubtree(n: PNode, windowFilter: string) {
  const f = subtreeFilter(n);
  if (f === null) { message(`This subtree has ${subtreePids(n).size.toLocaleString('en-US')} processes: their filter would pass the 16 KiB limit of a filter. Filter a smaller subtree.`); return; }
  void app.applyFilter(and(f, windowFilter));
}

export function openProcessTree() {
  const panel = openPanel('process-tree', 'Process Tree');
  panel.root.classList.add('stats-window', 'proc-tree');
  panel.root.style.width = '900px';
  let filter = app.currentFilter();
  let perContainer = false;
  let cancel: Cancel | null = null;
  const { box } = filterBox(filter, (f) => { filter = f; void load(); });
  const pc = el('label', 'st-check');
  const cb = el('input') as HTMLInputElement;
  cb.type = 'checkbox';
  pc.append(cb, document.createTextNode(' Per container'));
  cb.addEventListener('change', () => { perContainer = cb.checked; void load(); });
  const pidFmt = el('select', 'pid-format') as HTMLSelectElement;
  pidFmt.title = 'PID format (a preference of the profile: labels, columns and filters follow it)';
  for (const v of ['container', 'host', 'both']) { const o = el('option', '', `PID: ${v}`) as HTMLOptionElement; o.value = v; pidFmt.appendChild(o); }
  void api<{ pid_format: string }>('/api/preferences').then((r) => { if (r.status === 200) pidFmt.value = r.body.pid_format; });
  pidFmt.addEventListener('change', async () => {
    const r = await api('/api/preferences', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pid_format: pidFmt.value }) });
    if (r.status !== 200) { message('The PID format could not be set'); return; }
    globalTree = null;
    // The main list's view was dropped with the preferences: make it again.
    await app.applyFilter(app.currentFilter());
    void load();
  });
  const btn = (label: string, f: (n: PNode) => void) => {
    const b = el('button', 'pt-act', label);
    b.dataset.act = label;
    b.addEventListener('click', () => {
      const n = table.selected?.data as PNode | undefined;
      if (!n?.process) { message('Select a process first'); return; }
      f(n);
    });
    return b;
  };
  const status = el('span', 'st-status');
  const expand = el('button', 'pt-expand', 'Expand all');
  expand.addEventListener('click', () => table.setAllOpen(true));
  const collapse = el('button', 'pt-collapse', 'Collapse all');
  collapse.addEventListener('click', () => table.setAllOpen(false));
  panel.bar.append(box, pc, pidFmt, expand, collapse,
    btn('Filter to process', (n) => void app.applyFilter(and(procFilter(n.process!), filter))),
    btn('Filter to subtree', (n) => filterSubtree(n, filter)),
    btn('Process page', (n) => void openProcessPage(n.process!.host_pid)),
    status);
  const table = new TreeTable([
    { title: 'Process' }, { title: 'Events', numeric: true, width: 70 }, { title: 'Own', numeric: true, width: 60 },
    { title: 'Exec history', width: 220 }, { title: 'Exit', width: 60 },
  ]);
  table.onContext = (row, ev) => showMenu(ev.clientX, ev.clientY, processItems(row.data as PNode, filter));
  table.onActivate = () => {};
  panel.body.classList.add('st-body');
  panel.body.appendChild(table.root);
  const load = async () => {
    cancel?.cancel();
    const my = new Cancel();
    cancel = my;
    panel.root.dataset.state = 'running';
    status.replaceChildren(el('span', 'spinner'), document.createTextNode(' Computing…'));
    const view = perContainer ? 'tracee,process_tree,container' : 'tracee,process_tree';
    try {
      const t0 = performance.now();
      const [out] = await runStats([view], filter, (s) => {
        if (my !== cancel) return;
        status.replaceChildren(el('span', 'spinner'), document.createTextNode(progressText(s)));
      }, my);
      if (my !== cancel) return;
      const { nodes } = out.result as TreeResult;
      const rows = toRows(nodes);
      table.setRows(rows, perContainer ? 3 : 2);
      let count = 0;
      const walk = (ns: PNode[]) => { for (const n of ns) { if (n.process) count++; if (n.children) walk(n.children); } };
      walk(nodes);
      status.textContent = `${count.toLocaleString('en-US')} processes · ${Math.round(performance.now() - t0)} ms`;
      panel.root.dataset.processes = String(count);
      panel.root.dataset.state = 'done';
    } catch (e) {
      if (my !== cancel) return;
      status.textContent = (e as Error).message;
      panel.root.dataset.state = 'error';
    }
  };
  panel.root.querySelector('.panel-close')?.addEventListener('click', () => cancel?.cancel());
  void load();
  return { panel, table };
}

// ---------- the lineage breadcrumb ----------
let lineageEl: HTMLDivElement | null = null;
let lineageSeq = 0;
async function showLineage(d: Detail) {
  if (!lineageEl) {
    lineageEl = el('div', 'lineage') as HTMLDivElement;
    lineageEl.id = 'lineage';
    document.getElementById('tree')?.before(lineageEl);
  }
  const my = ++lineageSeq;
  const hp = field(d, 'tracee.hostProcessId');
  lineageEl.replaceChildren();
  lineageEl.hidden = !hp;
  if (!hp) return;
  const nodes = await fullTree().catch(() => null);
  if (my !== lineageSeq || !nodes || !lineageEl) return;
  const path = findPath(nodes, Number(hp), nsOf(field(d, 'frame.time_epoch')));
  if (!path) { lineageEl.hidden = true; return; }
  lineageEl.appendChild(el('span', 'lineage-k', 'Lineage:'));
  const procs = path.filter((n) => n.process);
  procs.forEach((n, i) => {
    if (i) lineageEl!.appendChild(el('span', 'lineage-sep', '›'));
    const a = el('span', 'lineage-item' + (i === procs.length - 1 ? ' self' : ''), n.name);
    a.title = 'Open the process page';
    a.dataset.pid = String(n.process!.host_pid);
    a.addEventListener('click', () => void openProcessPage(n.process!.host_pid));
    lineageEl!.appendChild(a);
  });
}
app.onSelect.push((d) => void showLineage(d));

// ---------- menus ----------
async function pageOfFrame(n: number) {
  const r = await api<Detail>(`/api/frames/${n}`);
  const hp = r.status === 200 ? field(r.body, 'tracee.hostProcessId') : undefined;
  if (!hp) { message(`Frame ${n} has no process`); return; }
  void openProcessPage(Number(hp));
}
app.rowMenu.push((number) => [{ label: 'Process page', action: () => void pageOfFrame(number) }]);
app.fieldMenu.push((_node, detail) => {
  const hp = field(detail, 'tracee.hostProcessId');
  return hp ? [{ label: 'Process page', action: () => void openProcessPage(Number(hp)) }] : [];
});
extraRowItems.push((row) => {
  const p = row.data as Proc | undefined;
  return p?.host_pid !== undefined ? [{ label: 'Process page', action: () => void openProcessPage(p.host_pid) }] : [];
});
app.analyzeMenu.push(() => [{ label: 'Process Tree', action: () => void openProcessTree() }]);
