// Pivots from a detail field (its context menu): filter ==, !=, add to the filter with and /
// and not; Count by this field (top values over the current view, `-z count,FIELD` through
// /api/stats); from a socket event to the packets of its address and port and back; from a
// signature finding to the event that triggered it.

import { el, app, message, openPanel, copy, download } from './core';
import type { Detail, MenuItem, Node } from './core';
import { runStats, and, firstFrameOf } from './timeline';

const first = (d: Detail, field: string): Node | undefined => d.tree.find((n) => n.field === field && n.value !== '');
const val = (d: Detail, field: string) => first(d, field)?.value;
const q = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/** The filter for `field == value` written as the field's own filter (`node.filter`) writes
 * values: quoted when it quotes them. */
export function valueFilter(node: Node, value: string): string {
  const rhs = node.filter.split(/==\s*/)[1] ?? '';
  const quoted = rhs.startsWith('"') || !/^[\w.:/-]+$/.test(value);
  return `${node.field} == ${quoted ? q(value) : value}`;
}

// ---------- 5-tuple pivots ----------

/** The (address, port) endpoints a frame is about: a socket event's sockaddr, a net_packet
 * event's packet metadata, a packet's IP and TCP/UDP headers. */
function endpoints(d: Detail): { kind: 'socket' | 'packet'; ends: [string, string][] } | null {
  const sa = val(d, 'tracee.sockaddr.sin_addr') ?? val(d, 'tracee.sockaddr.sin6_addr');
  const sp = val(d, 'tracee.sockaddr.sin_port') ?? val(d, 'tracee.sockaddr.sin6_port');
  if (sa && sp) return { kind: 'socket', ends: [[sa, sp]] };
  const ends: [string, string][] = [];
  const pair = (a?: string, p?: string) => { if (a && p) ends.push([a, p]); };
  pair(val(d, 'tracee.pktmeta.src_ip'), val(d, 'tracee.pktmeta.src_port'));
  pair(val(d, 'tracee.pktmeta.dst_ip'), val(d, 'tracee.pktmeta.dst_port'));
  if (!ends.length) {
    const src = val(d, 'ip.src') ?? val(d, 'ipv6.src'), dst = val(d, 'ip.dst') ?? val(d, 'ipv6.dst');
    pair(src, val(d, 'tcp.srcport') ?? val(d, 'udp.srcport'));
    pair(dst, val(d, 'tcp.dstport') ?? val(d, 'udp.dstport'));
  }
  return ends.length ? { kind: 'packet', ends } : null;
}

const num = (p: string) => String(Number(p));
const ipField = (a: string) => (a.includes(':') ? 'ipv6.addr' : 'ip.addr');

/** Packets (net_packet_* events and captured packets) with `a:p` on either side (socket
 * events also show their address as ip.addr/tcp.port: captured packets are the frames that are
 * no Tracee event). */
export function packetsFilter(a: string, p: string): string {
  const n = num(p);
  return [
    `(tracee.pktmeta.src_ip == ${q(a)} && tracee.pktmeta.src_port == ${n})`,
    `(tracee.pktmeta.dst_ip == ${q(a)} && tracee.pktmeta.dst_port == ${n})`,
    `(!tracee && ${ipField(a)} == ${a} && (tcp.port == ${n} || udp.port == ${n}))`,
  ].join(' || ');
}

/** Socket events (connect, bind, accept...) whose address is one of `ends`. */
export function socketsFilter(ends: [string, string][]): string {
  return ends.map(([a, p]) => {
    const six = a.includes(':');
    return `(tracee.sockaddr.${six ? 'sin6_addr' : 'sin_addr'} == ${q(a)} && tracee.sockaddr.${six ? 'sin6_port' : 'sin_port'} == ${q(num(p))})`;
  }).join(' || ');
}

// ---------- signature → trigger ----------

/** The filter of the event that triggered finding `d`: a finding has its trigger's context
 * (timestamp, thread) and names it in `triggeredBy`. */
export function triggerFilter(d: Detail): string | null {
  const name = val(d, 'tracee.detected_from.name');
  const time = first(d, 'frame.time');
  const tid = first(d, 'tracee.hostThreadId');
  if (!name || !time?.filter) return null;
  return [time.filter, tid?.filter, `tracee.eventName == ${q(name)}`, 'tracee.isSignature == 0'].filter(Boolean).join(' && ');
}

async function goToView(filter: string, what: string) {
  if (!(await app.applyFilter(filter))) { message(`${what}: the filter does not compile`); return; }
  message(what);
}

// ---------- count by field ----------

interface StatNode { name: string; count: number; percent?: number; children?: StatNode[] }

export async function countByField(node: Node) {
  const base = app.currentFilter();
  const p = openPanel('count', `Count by ${node.field}`);
  p.root.dataset.field = node.field;
  const info = el('span', 'cnt-info', 'Counting…');
  const csv = el('button', '', 'Copy as CSV');
  const save = el('button', '', 'Save as CSV');
  p.bar.append(info, csv, save);
  const r = await runStats([`count,${node.field}`], base);
  if (!r) { info.textContent = 'Failed'; return; }
  const top: StatNode | undefined = (r[0] as { nodes: StatNode[] }).nodes[0];
  const rows = top?.children ?? [];
  info.textContent = `${rows.length.toLocaleString('en-US')} values in ${(top?.count ?? 0).toLocaleString('en-US')} frames${base ? ` of “${base}”` : ''}`;
  const text = () => ['value,count,percent', ...rows.map((x) => `${q(x.name)},${x.count},${(x.percent ?? 0).toFixed(2)}`)].join('\n');
  csv.addEventListener('click', () => void copy(text()));
  save.addEventListener('click', () => download(`count-${node.field}.csv`, text(), 'text/csv'));
  const table = el('table', 'cnt-table');
  const head = el('tr');
  for (const h of ['Value', 'Count', '%', '']) head.appendChild(el('th', '', h));
  table.appendChild(head);
  const max = Math.max(1, ...rows.map((x) => x.count));
  const LIMIT = 1000;
  for (const x of rows.slice(0, LIMIT)) {
    const tr = el('tr', 'cnt-row');
    tr.dataset.value = x.name;
    tr.dataset.count = String(x.count);
    tr.title = 'Click: filter the list to this value (with the current filter)';
    const bar = el('span', 'cnt-bar');
    bar.style.width = `${Math.round((100 * x.count) / max)}px`;
    const td = el('td');
    td.appendChild(bar);
    tr.append(el('td', 'cnt-v', x.name), el('td', 'n', x.count.toLocaleString('en-US')), el('td', 'n', `${(x.percent ?? 0).toFixed(1)}%`), td);
    tr.addEventListener('click', () => void app.applyFilter(and(base, valueFilter(node, x.name))));
    tr.addEventListener('contextmenu', (ev) => {
      ev.preventDefault();
      void app.applyFilter(and(base, `!(${valueFilter(node, x.name)})`));
    });
    table.appendChild(tr);
  }
  if (rows.length > LIMIT) p.body.appendChild(el('div', 'cnt-more', `The first ${LIMIT} of ${rows.length} values are shown (Save as CSV has them all).`));
  p.body.appendChild(table);
}

// ---------- the menu ----------

app.fieldMenu.push((node: Node, d: Detail): MenuItem[] => {
  const items: MenuItem[] = [];
  const ok = node.field !== '' && node.filter !== '';
  items.push(
    { label: 'Filter ==', disabled: !ok, action: () => void app.applyFilter(node.filter) },
    { label: 'Filter !=', disabled: !ok, action: () => void app.applyFilter(`!(${node.filter})`) },
    { label: 'Add to filter with and', disabled: !ok, action: () => void app.applyFilter(app.combineFilter('and', node.filter)) },
    { label: 'Add to filter with and not', disabled: !ok, action: () => void app.applyFilter(app.combineFilter('andnot', node.filter)) },
    { label: 'Count by this field…', disabled: !node.field, action: () => void countByField(node) },
  );
  const ep = endpoints(d);
  if (ep?.kind === 'socket') {
    const [[a, p]] = ep.ends;
    items.push({ label: `Packets of ${a}:${p}`, action: () => void goToView(packetsFilter(a, p), `Packets of ${a}:${p}`) });
  } else if (ep) {
    items.push({ label: `Socket events of ${ep.ends.map(([a, p]) => `${a}:${p}`).join(' ↔ ')}`, action: () => void goToView(socketsFilter(ep.ends), 'Socket events of these addresses') });
  }
  const trig = triggerFilter(d);
  if (trig) {
    items.push({
      label: 'Go to the triggering event', action: async () => {
        // the trigger is found in every frame's view, then selected in the current one
        const n = await firstFrameOf(trig);
        if (n === null) { message('The triggering event is not in this recording'); return; }
        await app.goToFrame(n);
        if (app.selected()?.number !== n) { await app.applyFilter(''); await app.goToFrame(n); }
        message(`Triggering event: frame ${n}`);
      },
    });
  }
  return items;
});
