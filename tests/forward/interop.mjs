// Interop of osprey's Fluent Forward sender and receiver with real peers:
//   * osprey's sender (crates/forward/examples/forward_send, the code behind
//     `osprey trace -o forward:`) -> @fluent-org/logger's FluentServer, with and without a
//     shared key, with user authentication, gzip, acks on and off, and over TLS;
//   * as root, `osprey trace -o forward:` itself -> FluentServer, compared with `-o json:FILE`;
//   * @fluent-org/logger's FluentClient -> `osprey receive`, in all four event modes, with and
//     without a shared key and acks, and over TLS into `osprey receive --tls-cert`;
//   * Python's fluent-logger (FluentSender, Message mode with EventTime) -> `osprey receive`,
//     when PYTHON points at an interpreter that has it (scripts/test.sh makes a venv).
// The events are real Tracee output (tests/fixtures/tracee, see its NOTICE); every check is
// byte-for-byte on the event JSON.
//
// Env: OSPREY (the osprey binary), FORWARD_SEND (the example binary), PYTHON (optional).

import { spawn, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync, mkdtempSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { FluentServer, FluentClient, EventTime } from "@fluent-org/logger";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "..", "..");
const OSPREY = process.env.OSPREY || join(root, "target/debug/osprey");
const FORWARD_SEND = process.env.FORWARD_SEND || join(root, "target/debug/examples/forward_send");
const PYTHON = process.env.PYTHON;
const fixtures = ["tracee/tracee-docs-v0.23.jsonl", "tracee/tracee-action-trace.jsonl"].map((f) =>
  join(root, "tests/fixtures", f),
);
const lines = fixtures.flatMap((f) =>
  readFileSync(f, "utf8")
    .split("\n")
    .filter((l) => l.length > 0),
);
const ndjson = lines.map((l) => l + "\n").join("");
const work = mkdtempSync(join(tmpdir(), "osprey-forward-interop-"));
// a CA and a certificate for localhost signed by it (openssl, from scripts/setup.sh)
const caPem = join(work, "ca.pem");
const caKey = join(work, "ca.key");
const certPem = join(work, "cert.pem");
const keyPem = join(work, "key.pem");
const csr = join(work, "cert.csr");
const ext = join(work, "ext.cnf");
writeFileSync(ext, "subjectAltName=DNS:localhost\nbasicConstraints=critical,CA:FALSE\n");
for (const args of [
  ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", caKey, "-out", caPem, "-days", "2", "-subj", "/CN=osprey test CA"],
  ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", keyPem, "-out", csr, "-subj", "/CN=localhost"],
  ["x509", "-req", "-in", csr, "-CA", caPem, "-CAkey", caKey, "-CAcreateserial", "-out", certPem, "-days", "2", "-extfile", ext],
]) {
  const made = spawnSync("openssl", args);
  if (made.status !== 0) throw new Error(`openssl ${args.join(" ")}: ${made.stderr}`);
}
let failures = 0;
let passed = 0;

async function test(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok   ${name}`);
  } catch (e) {
    failures++;
    console.log(`FAIL ${name}\n     ${e.stack || e}`);
  }
}

function run(cmd, args, input) {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (err += d));
    p.on("close", (code) => resolve({ code, out, err }));
    p.stdin.end(input ?? "");
  });
}

// ---- osprey -> FluentServer ----

async function toFluentServer(security, url, tlsOptions) {
  const server = new FluentServer({ security, tlsOptions, listenOptions: { host: "127.0.0.1", port: 0 } });
  const got = [];
  server.on("entry", (tag, time, record) => got.push({ tag, time, record }));
  await server.listen();
  const r = await run(FORWARD_SEND, [url.replace("PORT", String(server.port))], ndjson);
  await server.close();
  return { r, got };
}

function checkServerEntries(got, r, tag = "tracee") {
  assert.equal(r.code, 0, r.err);
  assert.equal(got.length, lines.length, r.err);
  const ids = new Set();
  got.forEach((e, i) => {
    assert.equal(e.tag, tag);
    assert.equal(e.record.event, lines[i], `event ${i} differs`);
    ids.add(e.record.osprey_id);
    // EventTime with the event's own nanoseconds
    const ts = BigInt(JSON.parse(lines[i].replace(/"timestamp":(\d+)/, '"timestamp":"$1"')).timestamp);
    assert.ok(e.time instanceof EventTime, `time is ${typeof e.time}`);
    assert.equal(BigInt(e.time.epoch) * 1000000000n + BigInt(e.time.nano), ts);
  });
  assert.equal(ids.size, lines.length, "every event has its own osprey_id");
}

const security = {
  serverHostname: "fluent-server",
  sharedKey: "s3cret",
  authorize: false,
  userDict: {},
};

await test("osprey sender -> FluentServer (PackedForward, acks)", async () => {
  const { r, got } = await toFluentServer(undefined, "tcp://127.0.0.1:PORT?tag=tracee");
  checkServerEntries(got, r);
});

await test("osprey sender -> FluentServer (gzip, Forward mode without acks, tag)", async () => {
  const { r, got } = await toFluentServer(
    undefined,
    "tcp://127.0.0.1:PORT?tag=osprey.events&compress=gzip&ack=false&batch=7",
  );
  checkServerEntries(got, r, "osprey.events");
  const { r: r2, got: got2 } = await toFluentServer(undefined, "tcp://127.0.0.1:PORT?mode=forward&batch=5");
  checkServerEntries(got2, r2);
});

await test("osprey sender -> FluentServer with a shared key", async () => {
  const { r, got } = await toFluentServer(security, "tcp://127.0.0.1:PORT?shared_key=s3cret&compress=gzip");
  checkServerEntries(got, r);
});

await test("osprey sender -> FluentServer with a shared key and a user", async () => {
  const sec = { ...security, authorize: true, userDict: { alice: "p@ss" } };
  const { r, got } = await toFluentServer(sec, "tcp://alice:p%40ss@127.0.0.1:PORT?shared_key=s3cret");
  checkServerEntries(got, r);
});

await test("osprey sender -> FluentServer over TLS with a shared key", async () => {
  const tlsOptions = { key: readFileSync(keyPem), cert: readFileSync(certPem) };
  const { r, got } = await toFluentServer(
    security,
    `tls://localhost:PORT?ca=${caPem}&shared_key=s3cret&compress=gzip`,
    tlsOptions,
  );
  checkServerEntries(got, r);
});

await test("osprey sender refuses a FluentServer with another shared key", async () => {
  const { r, got } = await toFluentServer(
    security,
    "tcp://127.0.0.1:PORT?shared_key=wrong&drain_timeout=1&backoff=0.2",
  );
  assert.equal(got.length, 0);
  assert.notEqual(r.code, 0);
  assert.match(r.err, /undelivered at exit/);
  assert.match(r.err, new RegExp(`${lines.length} events undelivered`));
});

await test("osprey sender record format -> FluentServer gets the event as a map", async () => {
  const { r, got } = await toFluentServer(undefined, "tcp://127.0.0.1:PORT?format=record");
  assert.equal(r.code, 0, r.err);
  assert.equal(got.length, lines.length);
  got.forEach((e, i) => {
    const want = JSON.parse(lines[i]);
    assert.equal(e.record.eventName, want.eventName);
    assert.equal(e.record.processName, want.processName);
    assert.deepEqual(Object.keys(e.record).slice(0, 3), Object.keys(want).slice(0, 3));
  });
});

if (process.getuid && process.getuid() === 0 && process.env.OSPREY_SKIP_TRACE !== "1") {
  await test("osprey trace -o forward: -> FluentServer, the same bytes as -o json:", async () => {
    const server = new FluentServer({ listenOptions: { host: "127.0.0.1", port: 0 } });
    const got = [];
    server.on("entry", (tag, time, record) => got.push(record.event));
    await server.listen();
    const direct = join(work, "direct.json");
    const r = await run(OSPREY, [
      "trace",
      "-o",
      `json:${direct}`,
      "-o",
      `forward:tcp://127.0.0.1:${server.port}?tag=tracee`,
      "--",
      "/bin/sh",
      "-c",
      "cat /etc/hostname > /dev/null",
    ]);
    await server.close();
    assert.equal(r.code, 0, r.err);
    const want = readFileSync(direct, "utf8").split("\n").filter((l) => l);
    assert.ok(want.length > 0);
    assert.deepEqual(got, want);
  });
}

// ---- FluentClient / fluent-logger -> osprey receive ----

function startReceive(args) {
  return new Promise((resolve, reject) => {
    const p = spawn(OSPREY, ["receive", "--listen", "127.0.0.1:0", ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let err = "";
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    const done = new Promise((res) => p.on("close", (code) => res({ code, err, out })));
    p.stderr.on("data", (d) => {
      err += d;
      const m = err.match(/listening on 127\.0\.0\.1:(\d+)/);
      if (m && !p.port) {
        p.port = Number(m[1]);
        resolve({
          port: p.port,
          stop: async () => {
            p.kill("SIGINT");
            const r = await done;
            r.err = err;
            r.out = out;
            return r;
          },
        });
      }
    });
    p.on("error", reject);
  });
}

function eventTime(line) {
  const ns = BigInt(line.match(/"timestamp":(\d+)/)[1]);
  return new EventTime(Number(ns / 1000000000n), Number(ns % 1000000000n));
}

for (const eventMode of ["Message", "Forward", "PackedForward", "CompressedPackedForward"]) {
  for (const [keyed, acked] of [
    [false, false],
    [false, true],
    [true, true],
    [true, false],
  ]) {
    await test(`FluentClient ${eventMode}${keyed ? " shared key" : ""}${acked ? " acks" : ""} -> osprey receive`, async () => {
      const out = join(work, `recv-${eventMode}-${keyed}-${acked}.json`);
      const recv = await startReceive(["-w", out, ...(keyed ? ["--shared-key", "s3cret"] : [])]);
      const client = new FluentClient("tracee", {
        eventMode,
        socket: { host: "127.0.0.1", port: recv.port },
        ...(acked ? { ack: { ackTimeout: 5000 } } : {}),
        ...(keyed ? { security: { clientHostname: "node-client", sharedKey: "s3cret" } } : {}),
      });
      for (const l of lines) {
        await client.emit({ event: l }, eventTime(l));
      }
      await client.shutdown();
      // without acks, nothing tells the client the last frame was read: give it a moment
      await new Promise((r) => setTimeout(r, 300));
      const r = await recv.stop();
      assert.equal(r.code, 0, r.err);
      assert.equal(readFileSync(out, "utf8"), ndjson, r.err);
    });
  }
}

await test("FluentClient over TLS (PackedForward, shared key, acks) -> osprey receive --tls-cert", async () => {
  const out = join(work, "recv-tls.json");
  const recv = await startReceive(["-w", out, "--shared-key", "s3cret", "--tls-cert", certPem, "--tls-key", keyPem]);
  const client = new FluentClient("tracee", {
    eventMode: "PackedForward",
    socket: { host: "localhost", port: recv.port, tls: { ca: readFileSync(caPem) } },
    ack: { ackTimeout: 5000 },
    security: { clientHostname: "node-client", sharedKey: "s3cret" },
  });
  for (const l of lines) await client.emit({ event: l }, eventTime(l));
  await client.shutdown();
  const r = await recv.stop();
  assert.equal(r.code, 0, r.err);
  assert.equal(readFileSync(out, "utf8"), ndjson, r.err);
});

await test("FluentClient with a wrong shared key is refused by osprey receive", async () => {
  const out = join(work, "recv-wrong.json");
  const recv = await startReceive(["-w", out, "--shared-key", "right"]);
  const client = new FluentClient("tracee", {
    socket: { host: "127.0.0.1", port: recv.port, reconnect: { delay: 50 } },
    security: { clientHostname: "node-client", sharedKey: "wrong" },
    ack: { ackTimeout: 500 },
    disconnect: { waitForPending: false, waitForPendingDelay: 0, socketDisconnectDelay: 0 },
  });
  const p = client.emit({ event: lines[0] }).catch((e) => e);
  await new Promise((r) => setTimeout(r, 700));
  await client.shutdown().catch(() => {});
  await p;
  const r = await recv.stop();
  assert.equal(readFileSync(out, "utf8"), "");
  assert.match(r.err, /shared key mismatch/);
});

await test("FluentClient -> osprey receive printing like osprey read (-T fields)", async () => {
  const recv = await startReceive(["-T", "fields", "-e", "tracee.eventName", "-e", "tracee.processName"]);
  const client = new FluentClient("tracee", {
    eventMode: "PackedForward",
    socket: { host: "127.0.0.1", port: recv.port },
    ack: { ackTimeout: 5000 },
  });
  for (const l of lines) await client.emit({ event: l }, eventTime(l));
  await client.shutdown();
  const r = await recv.stop();
  const want = await run(OSPREY, [
    "read",
    "-q",
    ...fixtures.flatMap((f) => ["-r", f]),
    "-T",
    "fields",
    "-e",
    "tracee.eventName",
    "-e",
    "tracee.processName",
  ]);
  // osprey read merges the two files by time; the stream came in file order
  const sorted = (s) => s.split("\n").filter((x) => x).sort().join("\n");
  assert.equal(sorted(r.out), sorted(want.out));
  assert.equal(r.out.split("\n").filter((x) => x).length, lines.length);
});

if (PYTHON && existsSync(PYTHON)) {
  await test("Python fluent-logger (Message mode, EventTime) -> osprey receive", async () => {
    const out = join(work, "recv-python.json");
    const recv = await startReceive(["-w", out]);
    const r = spawnSync(PYTHON, [join(here, "python_client.py"), String(recv.port)], {
      input: ndjson,
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
    await new Promise((res) => setTimeout(res, 300));
    const rr = await recv.stop();
    assert.equal(readFileSync(out, "utf8"), ndjson, rr.err);
  });
} else {
  console.log("skip Python fluent-logger: set PYTHON to an interpreter with fluent-logger");
  if (process.env.CI) failures++;
}

rmSync(work, { recursive: true, force: true });
console.log(`${passed} passed, ${failures} failed`);
process.exit(failures ? 1 : 0);
