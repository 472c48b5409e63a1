// Generates a Tracee NDJSON recording of a process tree, for the process-tree test and bench:
// a container's init (namespace PID 1, host PID 7000) forks `n` processes (a few levels deep);
// each is forked (sched_process_fork in its parent), execs once — every 5th execs twice (a
// re-exec: /bin/sh then /usr/bin/python3) — opens a file and exits with code (i % 3).
// Namespace PIDs differ from host PIDs, so the PID-format preference shows in the labels.
import { createWriteStream } from 'node:fs';

const T0 = 1_700_000_000_000_000_000n;

function event(t, p, name, args, extra = {}) {
  const e = {
    timestamp: 0, threadStartTime: 1000, processorId: 0,
    processId: p.ns, threadId: p.ns, parentProcessId: p.nsParent,
    hostProcessId: p.host, hostThreadId: p.host, hostParentProcessId: p.hostParent,
    userId: 0, mountNamespace: 4026532000, pidNamespace: 4026532001, processName: p.comm, hostName: 'box',
    containerId: 'c0ffee000001', containerImage: 'demo:1', containerName: 'demo', podName: '', podNamespace: '', podUID: '',
    eventId: '1', eventName: name, matchedPolicies: [''], argsNum: args.length, returnValue: 0,
    syscall: '', stackAddresses: null, contextFlags: { containerStarted: true, isCompat: false },
    args, ...extra,
  };
  return JSON.stringify(e).replace('"timestamp":0', `"timestamp":${T0 + BigInt(t) * 1000n}`);
}

/** Writes the recording to `path`; resolves to a description of its processes. */
export async function generateProcs(path, n) {
  const out = createWriteStream(path);
  const write = async (line) => { if (!out.write(line + '\n')) await new Promise((r) => out.once('drain', r)); };
  let t = 0;
  const init = { ns: 1, nsParent: 0, host: 7000, hostParent: 6999, comm: 'init' };
  await write(event(t++, init, 'security_file_open', [{ name: 'pathname', type: 'const char*', value: '/etc/init.conf' }, { name: 'flags', type: 'string', value: 'O_RDONLY' }]));
  const procs = [init];
  for (let i = 0; i < n; i++) {
    // Parents: init for the first 10, then a process created before (a tree a few levels deep).
    const parent = i < 10 ? init : procs[1 + Math.floor((i - 10) / 4)];
    const p = { ns: 2 + i, nsParent: parent.ns, host: 7001 + i, hostParent: parent.host, comm: parent.comm };
    procs.push(p);
    await write(event(t++, parent, 'sched_process_fork', [
      { name: 'parent_tid', type: 'int', value: parent.host }, { name: 'parent_ns_tid', type: 'int', value: parent.ns },
      { name: 'parent_pid', type: 'int', value: parent.host }, { name: 'parent_ns_pid', type: 'int', value: parent.ns },
      { name: 'child_tid', type: 'int', value: p.host }, { name: 'child_ns_tid', type: 'int', value: p.ns },
      { name: 'child_pid', type: 'int', value: p.host }, { name: 'child_ns_pid', type: 'int', value: p.ns },
      { name: 'start_time', type: 'unsigned long', value: t },
    ]));
    const images = i % 5 === 0 ? [['/bin/sh', 'sh', ['sh', '-c', `job ${i}`]], ['/usr/bin/python3', 'python3', ['python3', `job${i}.py`]]] : [['/usr/bin/worker', 'worker', ['worker', `--id=${i}`]]];
    for (const [image, comm, argv] of images) {
      await write(event(t++, p, 'sched_process_exec', [
        { name: 'cmdpath', type: 'const char*', value: image }, { name: 'pathname', type: 'const char*', value: image },
        { name: 'argv', type: 'const char**', value: argv }, { name: 'prev_comm', type: 'char*', value: p.comm },
      ]));
      p.comm = comm;
    }
    await write(event(t++, p, 'security_file_open', [{ name: 'pathname', type: 'const char*', value: `/data/file${i}` }, { name: 'flags', type: 'string', value: 'O_RDONLY' }]));
    p.exitCode = i % 3;
    p.images = images.map((x) => x[0]);
  }
  // Exits, children before parents.
  for (let i = procs.length - 1; i >= 1; i--) {
    const p = procs[i];
    await write(event(t++, p, 'sched_process_exit', [
      { name: 'exit_code', type: 'long', value: p.exitCode }, { name: 'signal_code', type: 'int', value: 0 },
      { name: 'process_group_exit', type: 'bool', value: true },
    ]));
  }
  await new Promise((r) => out.end(r));
  return procs;
}
