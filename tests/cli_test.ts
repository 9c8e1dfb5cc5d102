/**
 * The command line's contract (DESIGN §11): exit status is the guest's, 2 with one
 * clear line on stderr for bad usage or a bad image, 124 when the budget runs out, 1
 * when the guest halts for good; `--help` documents every option; system files.
 */

import assert from "node:assert/strict";
import { assemble } from "../vmm/assembler.ts";
import { finish } from "./support.ts";

const root = new URL("..", import.meta.url).pathname;

async function cli(
  args: string[],
  stdin = "",
): Promise<{ code: number; out: string; err: string }> {
  const p = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "mod.ts", ...args],
    cwd: root,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = p.stdin.getWriter();
  await w.write(new TextEncoder().encode(stdin));
  await w.close();
  const r = await p.output();
  const dec = new TextDecoder();
  return { code: r.code, out: dec.decode(r.stdout), err: dec.decode(r.stderr) };
}

function tmpFile(bytes: Uint8Array | string, suffix = ".bin"): string {
  const path = Deno.makeTempFileSync({ suffix });
  if (typeof bytes === "string") Deno.writeTextFileSync(path, bytes);
  else Deno.writeFileSync(path, bytes);
  return path;
}

/** Exactly one line on stderr, naming the problem, and no stack trace. */
function oneLine(err: string, pattern: RegExp): void {
  const lines = err.trim().split("\n");
  assert.equal(lines.length, 1, `stderr: ${err}`);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(err, /\bat .*\.ts:\d+/);
}

Deno.test("cli: no argument boots the default system (Dom0 and two PV DomUs) and exits 0", async () => {
  const r = await cli([]);
  assert.equal(r.code, 0, r.err);
  assert.equal(r.err, "");
  for (
    const [name, mode] of [
      ["dom0", "pv"],
      ["alpha", "pv"],
      ["beta", "pv"],
      ["gamma", "hw"],
      ["delta", "trap"],
      ["epsilon", "bt"],
    ]
  ) {
    assert.match(r.out, new RegExp(`^\\[${name}\\] `, "m"), name);
    assert.match(r.out, new RegExp(`^${name} +\\d+ +${mode} +shutdown \\(poweroff\\)`, "m"), name);
  }
  assert.match(r.out, /exits by reason \(hw, trap, bt\)/);
  assert.match(r.out, /virtual cycles by category/);
  assert.match(r.out, /hypercalls by operation/);
  // The translation cache of each HVM domain (jit is the default engine): some blocks
  // translated and run, and no row for the PV domains, which have none.
  const jit = r.out.slice(r.out.indexOf("translation cache (jit engine"));
  for (const name of ["gamma", "delta", "epsilon"]) {
    const row = jit.match(new RegExp(`^${name} +(\\d+) +(\\d+) `, "m"));
    assert.ok(row, `${name} has a translation row`);
    assert.ok(Number(row[1]) > 0 && Number(row[2]) >= Number(row[1]), row[0]);
  }
  assert.doesNotMatch(jit, /^(dom0|alpha|beta) /m);
  // Deterministic: a second run prints the same bytes.
  assert.equal((await cli([])).out, r.out);
});

Deno.test("cli: under --engine interp the summary has no translation-cache table", async () => {
  const r = await cli(["--engine", "interp"]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /exits by reason \(hw, trap, bt\)/);
  assert.doesNotMatch(r.out, /translation cache/);
});

Deno.test("cli: --stats --json gives the per-domain summary as JSON", async () => {
  const r = await cli(["--stats", "--json"]);
  assert.equal(r.code, 0, r.err);
  const last = r.out.trim().split("\n").at(-1)!;
  const s = JSON.parse(last);
  assert.deepEqual(s.domains.map((d: { name: string }) => d.name), [
    "dom0",
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
  ]);
  for (const d of s.domains) {
    assert.ok(d.instructions > 0);
    assert.ok(d.cycles.total >= d.instructions);
    assert.ok(Object.keys(d.mode === "pv" ? d.hypercalls : d.exits).length > 0);
  }
});

Deno.test("cli: a PV system writes its trace as JSON Lines", async () => {
  const file = Deno.makeTempFileSync({ suffix: ".jsonl" });
  const r = await cli(["--trace", file]);
  assert.equal(r.code, 0, r.err);
  const recs = Deno.readTextFileSync(file).trim().split("\n").map((l) => JSON.parse(l));
  const evs = new Set(recs.map((x) => x.ev));
  for (
    const e of ["hypercall", "sched", "upcall", "evtchn_send", "timer_set", "timer_fire", "domain"]
  ) {
    assert.ok(evs.has(e), e);
  }
  assert.ok(new Set(recs.map((x) => x.dom)).size >= 3);
});

Deno.test("cli: --trace-domain keeps one domain's events", async () => {
  const file = Deno.makeTempFileSync({ suffix: ".jsonl" });
  const r = await cli(["--trace", file, "--trace-domain", "beta"]);
  assert.equal(r.code, 0, r.err);
  const doms = new Set(
    Deno.readTextFileSync(file).trim().split("\n").map((l) => JSON.parse(l).dom),
  );
  assert.deepEqual([...doms], [2]);
  const bad = await cli(["--trace", file, "--trace-domain", "zeta"]);
  assert.equal(bad.code, 2);
  oneLine(bad.err, /no such domain/);
});

Deno.test("cli: pv mode errors are one line", async () => {
  const cases: [string[], RegExp][] = [
    [["--mode", "pv", "guests/images/hello.elf"], /not a PV kernel/],
    [["--mode", "warp", "guests/images/hello.elf"], /unknown mode/],
    [["--json"], /--json goes with --stats/],
    [["--mode", "pv", "--mem", "16K", "guests/images/pvkernel.elf"], /memory/],
  ];
  for (const [args, pattern] of cases) {
    const r = await cli(args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.err}`);
    oneLine(r.err, pattern);
  }
});

Deno.test("cli: --help documents every option", async () => {
  const r = await cli(["--help"]);
  assert.equal(r.code, 0);
  for (const o of ["--mode", "--engine", "--mem", "--disk", "--disk-transport", "--bootargs"]) {
    assert.ok(r.out.includes(o), o);
  }
  for (const o of ["--max-insns", "--stats", "--json", "--help"]) assert.ok(r.out.includes(o), o);
});

Deno.test("cli: the guest's exit code becomes the exit status", async () => {
  const prog = assemble(finish(7));
  const r = await cli([tmpFile(prog.bytes)]);
  assert.equal(r.code, 7);
});

Deno.test("cli: the instruction budget gives 124", async () => {
  const prog = assemble("loop: j loop");
  const r = await cli([tmpFile(prog.bytes), "--max-insns", "1000"]);
  assert.equal(r.code, 124);
  oneLine(r.err, /budget/);
});

Deno.test("cli: a guest that can never wake up halts with 1 and says why", async () => {
  const prog = assemble("wfi\nstop: j stop");
  const r = await cli([tmpFile(prog.bytes)]);
  assert.equal(r.code, 1);
  oneLine(r.err, /wfi/);
});

Deno.test("cli: bad images and options give 2 and one line", async () => {
  const cases: [string[], RegExp][] = [
    [["no/such/file.elf"], /no such file/],
    [[root + "guests"], /directory/],
    [[tmpFile(new Uint8Array(0))], /empty/],
    [["--mem", "12Q", "guests/images/hello.elf"], /--mem 12Q/],
    [["--mem", "4K", "guests/images/hello.elf"], /memory size/],
    [["--mode", "warp", "guests/images/hello.elf"], /unknown mode/],
    [["--engine", "turbo", "guests/images/hello.elf"], /unknown engine/],
    [["--disk-transport", "pci", "guests/images/hello.elf"], /modern or legacy/],
    [["--mode", "trap", "--disk-transport", "modern", "guests/images/hello.elf"], /legacy/],
    [["--max-insns", "lots", "guests/images/hello.elf"], /not a count/],
    [["--frobnicate"], /frobnicate/],
    [["a.elf", "b.elf"], /one FILE/],
    [["--disk", "no/such/disk.img", "guests/images/hello.elf"], /disk/],
  ];
  for (const [args, pattern] of cases) {
    const r = await cli(args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.err}`);
    oneLine(r.err, pattern);
  }
});

Deno.test("cli: --sbi starts the image in S-mode and serves SBI calls", async () => {
  const prog = assemble(`
    csrr t0, sstatus     # legal in S-mode
    li a0, 83
    li a7, 1
    ecall                # legacy console putchar
    li a0, 0
    li a1, 1             # SRST shutdown, reason: system failure
    li a7, 0x53525354
    li a6, 0
    ecall
  `);
  const r = await cli([tmpFile(prog.bytes), "--sbi"]);
  assert.equal(r.code, 1);
  assert.equal(r.out, "S");
  const bad = await cli(["--sbi", "--mode", "pv", "guests/images/pvkernel.elf"]);
  assert.equal(bad.code, 2);
  oneLine(bad.err, /--sbi applies to bare mode only/);
});

Deno.test("cli: a 64-bit ELF is refused with 2", async () => {
  const elf = new Uint8Array(64);
  elf.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  const r = await cli([tmpFile(elf)]);
  assert.equal(r.code, 2);
  oneLine(r.err, /64-bit/);
});

Deno.test("cli: system files are checked field by field", async () => {
  const bad: [string, RegExp][] = [
    ["{", /not valid JSON/],
    ['{"domains": 3}', /"domains" array/],
    ['{"domains": [{"image": "x.elf", "colour": "red"}]}', /unknown field "colour"/],
    ['{"domains": [{"name": "a"}]}', /"image"/],
    ['{"domains": [], "colour": 1}', /unknown field "colour"/],
    ['{"domains": [{"image": "x.elf", "vcpus": -1}]}', /"vcpus" must be a whole number/],
    ['{"domains": [{"image": "x.elf", "affinity": []}]}', /"affinity"/],
    [
      '{"domains": [{"name": "a", "image": "x.elf"}, {"name": "a", "image": "y.elf"}]}',
      /two domains are named/,
    ],
    ['{"domains": [{"name": "a", "image": "x.elf"}], "links": [["a", "b"]]}', /unknown domain "b"/],
    [
      '{"domains": [{"name": "a", "image": "x.elf", "mode": "pv"}, {"name": "b", "image": "x.elf"}]}',
      /mode bare cannot share a system with other domains/,
    ],
  ];
  for (const [text, pattern] of bad) {
    const r = await cli([tmpFile(text, ".json")]);
    assert.equal(r.code, 2, text);
    oneLine(r.err, pattern);
  }
  const dir = Deno.makeTempDirSync();
  Deno.copyFileSync(root + "guests/images/hello.elf", `${dir}/h.elf`);
  Deno.writeTextFileSync(`${dir}/sys.json`, '{"domains": [{"image": "h.elf", "memory": "8M"}]}');
  const ok = await cli([`${dir}/sys.json`]);
  assert.equal(ok.code, 0);
  assert.match(ok.out, /Hello from belowzero/);
});

Deno.test("cli: --stats --json prints one JSON object on stderr", async () => {
  const r = await cli(["guests/images/hello.elf", "--stats", "--json"]);
  assert.equal(r.code, 0);
  const s = JSON.parse(r.err.trim());
  assert.equal(s.outcome, "exit 0");
  assert.ok(s.instructions > 100 && s.instructions < 100_000);
  assert.equal(s.cycles, s.instructions);
});

Deno.test("cli: piped stdin reaches the guest's UART", async () => {
  // Echo one received byte back through the UART, then pass.
  const prog = assemble(`
    li s0, 0x10000000
  wait:
    lbu t0, 5(s0)
    andi t0, t0, 1
    beqz t0, wait
    lbu a0, 0(s0)
    sb a0, 0(s0)
    ${finish()}`);
  const r = await cli([tmpFile(prog.bytes)], "Z");
  assert.equal(r.code, 0);
  assert.equal(r.out, "Z");
});

Deno.test("cli: --trace writes JSON Lines, or the Chrome format, filtered by event", async () => {
  const dir = Deno.makeTempDirSync();
  const r = await cli(["guests/images/traps.elf", "--trace", `${dir}/t.jsonl`]);
  assert.equal(r.code, 0);
  const lines = Deno.readTextFileSync(`${dir}/t.jsonl`).trim().split("\n").map((l) =>
    JSON.parse(l)
  );
  assert.ok(lines.some((l) => l.ev === "trap"));
  assert.ok(lines.some((l) => l.ev === "console"));
  const f = await cli([
    "guests/images/traps.elf",
    "--trace",
    `${dir}/c.json`,
    "--trace-format",
    "chrome",
    "--trace-events",
    "trap,interrupt",
  ]);
  assert.equal(f.code, 0);
  const c = JSON.parse(Deno.readTextFileSync(`${dir}/c.json`));
  assert.ok(c.traceEvents.length > 0);
  assert.ok(c.traceEvents.every((e: { name: string }) => ["trap", "interrupt"].includes(e.name)));
  const bad = await cli(["guests/images/hello.elf", "--trace", `${dir}/x`, "--trace-events", "x"]);
  assert.equal(bad.code, 2);
  oneLine(bad.err, /unknown trace event "x"/);
  const noFile = await cli(["guests/images/hello.elf", "--trace-events", "trap"]);
  assert.equal(noFile.code, 2);
  oneLine(noFile.err, /need --trace FILE/);
});
