/**
 * Sv32 virtual memory (RISC-V Privileged ISA 1.12 §4.3 "Sv32: Page-Based 32-bit Virtual-
 * Memory Systems", §4.3.1 PTE format, §4.3.2 the translation algorithm, §4.1.11 satp,
 * §4.2.1 SFENCE.VMA, §3.1.6.3 MPRV/MXR/SUM). Page tables are poked into RAM before the
 * run; programs enter S or U with mret and report faults through the recording M-mode
 * handler (support.ts), so each test checks causes 12/13/15 (page faults) and 1/5/7
 * (access faults), the faulting virtual address in mtval/stval and the PTE A/D bits the
 * hardware sets (this hart updates A/D, as §4.3.1 permits; csr.ts/mmu.ts document it).
 */

import assert from "node:assert/strict";
import type { Machine } from "../vmm/machine.ts";
import { enter, PMP_ALL, poke, R, runAsm, type RunOptions, SLOG } from "./support.ts";

const V = 1, RD = 2, WR = 4, X = 8, U = 16, A = 64, D = 128;
const ROOT = 0x8020_0000;
const L0 = 0x8020_1000;
const F0 = 0x8030_0000;
const F1 = 0x8030_1000;
const F2 = 0x8030_2000;
const SATP = 0x8000_0000 + (ROOT >>> 12);
/** Virtual address of L0 slot `i` (the table maps 0x4000_0000–0x403f_ffff). */
const va = (i: number) => 0x4000_0000 + i * 0x1000;

/** A PTE for physical address `pa` (4 KiB aligned) with `flags`. */
const pte = (pa: number, flags: number) => (((pa >>> 12) << 10) | flags) >>> 0;

/**
 * Page tables: the finisher's 4 MiB at VA 0 and RAM's first 4 MiB identity-mapped (S-only,
 * RWX, A and D set), the L0 table for 0x4000_0000, plus `l1` and `l0` entries by index.
 */
function tables(l1: Record<number, number>, l0: Record<number, number>) {
  return (m: Machine) => {
    poke(m, ROOT + 0 * 4, V | RD | WR | A | D);
    poke(m, ROOT + 0x200 * 4, pte(0x8000_0000, V | RD | WR | X | A | D));
    poke(m, ROOT + 0x100 * 4, pte(L0, V));
    for (const [i, v] of Object.entries(l1)) poke(m, ROOT + Number(i) * 4, v);
    for (const [i, v] of Object.entries(l0)) poke(m, L0 + Number(i) * 4, v);
    poke(m, F0, 0x1111_1111);
    poke(m, F1, 0x2222_2222);
    poke(m, F2, 0x3333_3333);
  };
}

/** Turns paging on in M and enters `mode` at `target` (a label: identity-mapped, or a VA). */
const START = (mode: "S" | "U", target: string | number) => `
  li t0, ${SATP}
  csrw satp, t0
  sfence.vma
  ${enter(mode, target)}
`;

/**
 * Runs `src` with the recording M-mode handler on the page tables {@link tables} builds
 * from `l1` and `l0` (then `opts.setup` pokes anything else), and asserts it passed.
 */
function run(
  src: string,
  l1: Record<number, number>,
  l0: Record<number, number>,
  { setup, ...opts }: RunOptions = {},
) {
  const r = runAsm(src, {
    handler: "record",
    setup: (m, prog) => {
      tables(l1, l0)(m);
      setup?.(m, prog);
    },
    ...opts,
  });
  assert.deepEqual(r.out, { kind: "exit", code: 0 }, JSON.stringify(r.log().slice(0, 8)));
  return r;
}

// §4.3.2: a two-level walk from satp.PPN; leaf PPN × 4096 + page offset.
Deno.test("sv32: S-mode loads and stores go through the page table", () => {
  const r = run(
    `${START("S", "smain")}
  smain:
    li s0, ${va(0)}
    lw a0, 0(s0)
    li s1, ${va(1)}
    lw a1, 0(s1)
    li t0, 0x55aa
    sw t0, 8(s0)
    lw a2, 8(s1)
    li s2, ${va(2)}
    lw a3, 0(s2)
    csrr a4, satp
  `,
    {},
    { 0: pte(F0, V | RD | WR | A | D), 1: pte(F0, V | RD | A), 2: pte(F1, V | RD | A) },
  );
  assert.deepEqual(r.log(), []);
  assert.equal(r.u(R.a0), 0x1111_1111);
  assert.equal(r.u(R.a1), 0x1111_1111, "alias of the same frame");
  assert.equal(r.word(F0 + 8), 0x55aa);
  assert.equal(r.u(R.a2), 0x55aa);
  assert.equal(r.u(R.a3), 0x2222_2222);
  assert.equal(r.u(R.a4), SATP);
  assert.equal(r.m.hart.priv, 1);
});

// §4.3.1: page faults carry the virtual address. Table 3.6: 12 fetch, 13 load, 15 store.
Deno.test("sv32: store to a read-only page raises a store page fault", () => {
  const r = run(
    `${START("S", "smain")}
  smain:
    li s0, ${va(0) + 0x10}
    li t0, 99
  st:
    sw t0, 4(s0)
    lw a0, 4(s0)
  `,
    {},
    { 0: pte(F0, V | RD | A) },
  );
  const log = r.log();
  assert.equal(log.length, 1);
  assert.equal(log[0].cause, 15);
  assert.equal(log[0].tval, va(0) + 0x14);
  assert.equal(log[0].epc, r.label("st"));
  assert.equal((log[0].status >>> 11) & 3, 1, "from S");
  assert.equal(r.word(F0 + 0x14), 0, "memory unchanged");
  assert.equal(r.x(R.a0), 0);
});

Deno.test("sv32: invalid PTEs: V = 0, and W without R", () => {
  const r = run(
    `${START("S", "smain")}
  smain:
    li s0, ${va(3) + 0xffc}
    lw a0, 0(s0)
    sw a0, 0(s0)
    li s1, ${va(4) + 0x20}
    lw a1, 0(s1)
    sw a1, 0(s1)
    li s2, 0x50000123        # L1 entry with V = 0
    lw a2, 0(s2)
    li s3, 0x50400000        # L1 leaf with W and no R
    lw a3, 0(s3)
  `,
    { 0x141: pte(0x8040_0000, V | WR | A | D) },
    { 3: pte(F0, RD | WR | A | D), 4: pte(F0, V | WR | A | D) },
  );
  assert.deepEqual(
    r.log().map((e) => [e.cause, e.tval.toString(16)]),
    [
      [13, (va(3) + 0xffc).toString(16)],
      [15, (va(3) + 0xffc).toString(16)],
      [13, (va(4) + 0x20).toString(16)],
      [15, (va(4) + 0x20).toString(16)],
      [13, "50000123"],
      [13, "50400000"],
    ],
  );
});

// §4.3.2 step 4: a pointer PTE at level 0 is a page fault.
Deno.test("sv32: a non-leaf PTE at level 0 is a page fault", () => {
  const r = run(
    `${START("S", "smain")}
  smain:
    li s0, ${va(5)}
    lw a0, 0(s0)
    li t0, ${va(5) + 8}
    jalr ra, 0(t0)
  `,
    {},
    { 5: pte(L0, V) },
  );
  const log = r.log();
  assert.equal(log.length, 2);
  assert.deepEqual([log[0].cause, log[0].tval], [13, va(5)]);
  assert.deepEqual([log[1].cause, log[1].tval, log[1].epc], [12, va(5) + 8, va(5) + 8]);
});

// §4.3.1: fetch needs X; S-mode may never execute a U page (even with SUM).
Deno.test("sv32: fetch from a non-executable page and from a U page in S-mode", () => {
  const r = runAsm(
    `${START("S", "smain")}
  smain:
    li t0, 0x40000      # SUM: must not permit fetching from U pages
    csrs sstatus, t0
    li t0, ${va(6)}
    jalr ra, 0(t0)
  `,
    { handler: "exit", setup: tables({}, { 6: pte(0x8000_0000, V | RD | WR | A | D) }) },
  );
  const h = r.m.hart;
  assert.equal(h.mcause, 12);
  assert.equal(h.mtval >>> 0, va(6));
  assert.equal(h.mepc >>> 0, va(6));
  const u = runAsm(
    `${START("S", "smain")}
  smain:
    li t0, 0x40000
    csrs sstatus, t0
    li t0, ${va(7)}
    jalr ra, 0(t0)
  `,
    { handler: "exit", setup: tables({}, { 7: pte(0x8000_0000, V | RD | X | U | A) }) },
  );
  assert.equal(u.m.hart.mcause, 12);
  assert.equal(u.m.hart.mtval >>> 0, va(7));
});

// §3.1.6.3 SUM: S-mode loads and stores to U pages fault unless SUM = 1.
Deno.test("sv32: SUM gates S-mode access to U pages", () => {
  const r = run(
    `${START("S", "smain")}
  smain:
    li s0, ${va(8)}
    li a0, 1
    li a1, 1
    lw a0, 0(s0)
    sw zero, 0(s0)
    li t0, 0x40000
    csrs sstatus, t0
    lw a1, 0(s0)
    li t1, 0x77
    sw t1, 4(s0)
    csrc sstatus, t0
    lw a2, 0(s0)
  `,
    {},
    { 8: pte(F0, V | RD | WR | U | A | D) },
  );
  assert.deepEqual(r.log().map((e) => e.cause), [13, 15, 13]);
  assert.equal(r.x(R.a0), 1, "faulting load did not write rd");
  assert.equal(r.u(R.a1), 0x1111_1111);
  assert.equal(r.word(F0 + 4), 0x77);
});

// §3.1.6.3 MXR: loads from execute-only pages succeed when MXR = 1.
Deno.test("sv32: MXR makes execute-only pages readable", () => {
  const r = run(
    `${START("S", "smain")}
  smain:
    li s0, ${va(9)}
    lw a0, 0(s0)
    li t0, 0x80000
    csrs sstatus, t0
    lw a1, 0(s0)
    sw zero, 0(s0)
  `,
    {},
    { 9: pte(F1, V | X | A | D) },
  );
  assert.deepEqual(r.log().map((e) => [e.cause, e.tval]), [[13, va(9)], [15, va(9)]]);
  assert.equal(r.u(R.a1), 0x2222_2222);
});

// U-mode: only U pages; loads, stores and fetches of S pages fault.
Deno.test("sv32: U-mode runs from a U page and may not touch S pages", () => {
  const r = run(
    `${START("U", va(0x10))}
    .org 0x3000
  ucode:
    li s0, ${va(0x11)}
    lw a0, 0(s0)
    li t0, 5
    sw t0, 4(s0)
    li s1, ${va(0x12)}
    lw a1, 0(s1)
    sw t0, 0(s1)
    li s2, ${va(0x13)}
    sw t0, 0(s2)
    li t1, ${va(0x12)}
    jalr ra, 0(t1)
    li s3, 0x80000000
    lw a2, 0(s3)
    li a7, 93
    ecall
  `,
    {},
    {
      0x10: pte(0x8000_3000, V | RD | X | U | A),
      0x11: pte(F0, V | RD | WR | U | A | D),
      0x12: pte(F1, V | RD | WR | X | A | D),
      0x13: pte(F2, V | RD | U | A),
    },
  );
  assert.deepEqual(
    r.log().map((e) => [e.cause, e.tval.toString(16), (e.status >>> 11) & 3]),
    [
      [13, va(0x12).toString(16), 0],
      [15, va(0x12).toString(16), 0],
      [15, va(0x13).toString(16), 0],
      [12, va(0x12).toString(16), 0],
      [13, "80000000", 0],
    ],
  );
  assert.equal(r.u(R.a0), 0x1111_1111);
  assert.equal(r.word(F0 + 4), 5);
  assert.equal(r.word(F1), 0x2222_2222);
});

// §3.1.6.3 MPRV: M-mode loads and stores translate as if in MPP; fetches do not.
Deno.test("sv32: MPRV makes M-mode data accesses use MPP's translation", () => {
  const r = run(
    `
    ${PMP_ALL}
    li t0, ${SATP}
    csrw satp, t0
    li s0, ${va(0x14)}
    li t0, 0x20800           # MPRV, MPP = S
    csrs mstatus, t0
    lw a0, 0(s0)
    li t1, 0x44
    sw t1, 4(s0)
    li t0, 0x1800
    csrc mstatus, t0         # MPP = U: the page is not a U page
    lw a1, 0(s0)
    csrs mstatus, t0         # MPP = M: untranslated
    li s1, ${F1}
    lw a2, 0(s1)
    li t0, 0x20000
    csrc mstatus, t0
    csrw satp, zero
  `,
    {},
    { 0x14: pte(F0, V | RD | WR | A | D) },
  );
  const log = r.log();
  assert.equal(log.length, 1);
  assert.equal(log[0].cause, 13);
  assert.equal(log[0].tval, va(0x14));
  assert.equal((log[0].status >>> 11) & 3, 3, "trap taken from M");
  assert.equal(r.u(R.a0), 0x1111_1111);
  assert.equal(r.word(F0 + 4), 0x44);
  assert.equal(r.u(R.a2), 0x2222_2222);
});

Deno.test("sv32: satp does not translate M-mode accesses", () => {
  const r = run(
    `
    li t0, ${SATP}
    csrw satp, t0
    li s0, ${va(0)}
    lw a0, 0(s0)             # 0x40000000 is not RAM physically
    li s1, ${F0}
    lw a1, 0(s1)
    csrw satp, zero
  `,
    {},
    { 0: pte(F1, V | RD | A) },
  );
  assert.deepEqual(r.log().map((e) => [e.cause, e.tval]), [[5, va(0)]]);
  assert.equal(r.u(R.a1), 0x1111_1111);
});

// §4.3.2 step 6 and §4.3.1: 4 MiB superpages; a leaf at level 1 with PPN[0] ≠ 0 is a
// misaligned superpage and faults.
Deno.test("sv32: 4 MiB superpages, and misaligned superpages fault", () => {
  const r = run(
    `${START("S", "smain")}
  smain:
    li s0, 0x40401234
    li t0, 0xabcd
    sw t0, 0(s0)
    lw a0, 0(s0)
    li s1, 0x407ffffc
    sw t0, 0(s1)
    li s2, 0x40800010
    lw a1, 0(s2)
    sw t0, 0(s2)
  `,
    {
      0x101: pte(0x8040_0000, V | RD | WR | A | D),
      0x102: pte(0x8040_1000, V | RD | WR | A | D),
    },
    {},
  );
  assert.equal(r.word(0x8040_1234), 0xabcd);
  assert.equal(r.word(0x807f_fffc), 0xabcd);
  assert.equal(r.u(R.a0), 0xabcd);
  assert.deepEqual(r.log().map((e) => [e.cause, e.tval]), [[13, 0x4080_0010], [15, 0x4080_0010]]);
  assert.equal(r.word(0x8040_1010), 0, "nothing stored through the misaligned superpage");
});

// §4.3.1: A is set on any access, D on a store (this hart updates them in the PTE).
Deno.test("sv32: the walker sets A on access and D on store", () => {
  const r = run(
    `${START("S", "smain")}
  smain:
    li s0, ${va(0x20)}
    lw a0, 0(s0)
    li s1, ${va(0x21)}
    sw zero, 0(s1)
    li s2, ${va(0x22)}
    jalr ra, 0(s2)
    li s3, ${va(0x23)}
    sw zero, 0(s3)           # faults: the PTE must not gain A or D
  `,
    { 0x103: pte(0x8040_0000, V | RD | WR) },
    {
      0x20: pte(F0, V | RD | WR),
      0x21: pte(F1, V | RD | WR),
      0x22: pte(0x8000_4000, V | RD | X),
      0x23: pte(F2, V | RD),
    },
    { setup: (m) => poke(m, 0x8000_4000, 0x0000_8067) }, // ret, the code va(0x22) maps
  );
  assert.deepEqual(r.log().map((e) => e.cause), [15]);
  assert.equal(r.word(L0 + 0x20 * 4), pte(F0, V | RD | WR | A), "load: A only");
  assert.equal(r.word(L0 + 0x21 * 4), pte(F1, V | RD | WR | A | D), "store: A and D");
  assert.equal(r.word(L0 + 0x22 * 4), pte(0x8000_4000, V | RD | X | A), "fetch: A");
  assert.equal(r.word(L0 + 0x23 * 4), pte(F2, V | RD), "fault: unchanged");
  assert.equal(r.word(ROOT + 0x103 * 4), pte(0x8040_0000, V | RD | WR), "untouched superpage");
});

Deno.test("sv32: a superpage leaf gets its A/D bits set too", () => {
  const r = run(
    `${START("S", "smain")}
  smain:
    li s0, 0x40c00000
    sw zero, 0(s0)
  `,
    { 0x103: pte(0x8040_0000, V | RD | WR) },
    {},
  );
  assert.deepEqual(r.log(), []);
  assert.equal(r.word(ROOT + 0x103 * 4), pte(0x8040_0000, V | RD | WR | A | D));
});

// §4.2.1: after changing a PTE, sfence.vma makes the new mapping visible.
Deno.test("sv32: sfence.vma makes a changed mapping visible", () => {
  const r = run(
    `${START("S", "smain")}
  smain:
    li s0, ${va(0x30)}
    lw a0, 0(s0)
    li t0, ${L0 + 0x30 * 4}  # the PTE, through the identity map
    li t1, ${pte(F1, V | RD | A)}
    sw t1, 0(t0)
    sfence.vma
    lw a1, 0(s0)
    li t1, ${pte(F2, V | RD | A)}
    sw t1, 0(t0)
    sfence.vma s0, zero
    lw a2, 0(s0)
    li t1, 0
    sw t1, 0(t0)
    sfence.vma s0
    lw a3, 0(s0)
  `,
    {},
    { 0x30: pte(F0, V | RD | A) },
  );
  assert.equal(r.u(R.a0), 0x1111_1111);
  assert.equal(r.u(R.a1), 0x2222_2222);
  assert.equal(r.u(R.a2), 0x3333_3333);
  assert.deepEqual(r.log().map((e) => [e.cause, e.tval]), [[13, va(0x30)]]);
});

Deno.test("sv32: a satp write switches address spaces", () => {
  // A second root maps va(0) through its own L0 to F2; the first maps it to F0.
  const ROOT2 = 0x8020_4000, L02 = 0x8020_5000;
  const r = run(
    `${START("S", "smain")}
  smain:
    li s0, ${va(0)}
    lw a0, 0(s0)
    li t0, ${0x8000_0000 + (ROOT2 >>> 12)}
    csrw satp, t0
    lw a1, 0(s0)
  `,
    {},
    { 0: pte(F0, V | RD | A) },
    {
      setup: (m) => {
        poke(m, ROOT2, V | RD | WR | A | D);
        poke(m, ROOT2 + 0x200 * 4, pte(0x8000_0000, V | RD | WR | X | A | D));
        poke(m, ROOT2 + 0x100 * 4, pte(L02, V));
        poke(m, L02, pte(F2, V | RD | A));
      },
    },
  );
  assert.equal(r.u(R.a0), 0x1111_1111);
  assert.equal(r.u(R.a1), 0x3333_3333);
});

// §4.3.2 step 2: a PTE access that fails PMA checks raises an access fault of the
// original access type.
Deno.test("sv32: page table outside RAM gives access faults", () => {
  const r = run(
    `${START("S", "smain")}
  smain:
    li s0, 0x40c00000
    lw a0, 0(s0)
    sw a0, 0(s0)
    li t0, 0x40c00010
    jalr ra, 0(t0)
  `,
    { 0x103: pte(0x2000_0000, V) },
    {},
  );
  assert.deepEqual(
    r.log().map((e) => [e.cause, e.tval]),
    [[5, 0x40c0_0000], [7, 0x40c0_0000], [1, 0x40c0_0010]],
  );
  const root = runAsm(
    `
    li t0, ${0x8000_0000 + (0x2000_0000 >>> 12)}
    csrw satp, t0
    ${enter("S", "smain")}
  smain:
    nop
  `,
    { handler: "exit" },
  );
  assert.equal(root.m.hart.mcause, 1, "fetch with the root table outside RAM");
  assert.equal(root.m.hart.mtval >>> 0, root.label("smain"));
});

// §4.3.2 / Priv §3.1.16: an instruction whose second half is on an unmapped page faults
// with epc = the instruction and tval = the address of the part that faulted.
Deno.test("sv32: a 4-byte instruction straddling into an unmapped page", () => {
  const r = runAsm(
    `${START("S", va(0x40))}
    .org 0x3000
  spage:
    li a0, 1
    j strad
    .org 0x3ffe
  strad:
    addi a0, a0, 1
  `,
    {
      handler: "exit",
      setup: tables({}, { 0x40: pte(0x8000_3000, V | RD | X | A) }),
    },
  );
  const h = r.m.hart;
  assert.equal(h.mcause, 12);
  assert.equal(h.mepc >>> 0, va(0x40) + 0xffe);
  assert.equal(h.mtval >>> 0, va(0x41));
  assert.equal(h.x[R.a0], 1);
});

Deno.test("sv32: a straddling instruction on two mapped pages executes", () => {
  const r = run(
    `${START("S", va(0x40))}
    .org 0x3000
  spage:
    li a0, 1
    j strad
    .org 0x3ffe
  strad:
    addi a0, a0, 1
    li a7, 93
    ecall
  `,
    {},
    { 0x40: pte(0x8000_3000, V | RD | X | A), 0x41: pte(0x8000_4000, V | RD | X | A) },
  );
  assert.equal(r.x(R.a0), 2);
});

// §3.1.8 / §4.1.9: page faults delegated to S land in S with stval = the address.
Deno.test("sv32: delegated page faults go to S with stval", () => {
  const r = run(
    `
    li t0, ${(1 << 12) | (1 << 13) | (1 << 15)}
    csrw medeleg, t0
    la t0, __srec
    csrw stvec, t0
    ${START("S", "smain")}
  smain:
    li s0, ${va(0x50) + 0x44}
  ld:
    lw a0, 0(s0)
  st:
    sw a0, 0(s0)
    li t0, ${va(0x50)}
  fe:
    jalr ra, 0(t0)
  `,
    {},
    { 0x50: pte(F0, V | A) },
  );
  assert.deepEqual(r.log(), [], "nothing reached M");
  const s = r.log(SLOG);
  assert.deepEqual(s.map((e) => [e.cause, e.tval]), [
    [13, va(0x50) + 0x44],
    [15, va(0x50) + 0x44],
    [12, va(0x50)],
  ]);
  assert.equal(s[0].epc, r.label("ld"));
  assert.equal(s[1].epc, r.label("st"));
  assert.equal(s[2].epc, va(0x50));
  assert.equal(s[0].status & 0x100, 0x100, "SPP = S");
});

// Priv §3.1.16: a misaligned access that faults reports "the virtual address of the portion
// of the access that caused the fault": for a load crossing into an unmapped page, the
// start of that page (where the faulting portion begins).
Deno.test("sv32: misaligned load across a page boundary into an unmapped page", () => {
  const r = run(
    `${START("S", "smain")}
  smain:
    li s0, ${va(0x60) + 0xffe}
    li a0, 7
    lw a0, 0(s0)
    li s1, ${va(0x62) + 0xffd}
    sw zero, 0(s1)
    li s2, ${va(0x64) + 0xffe}
    lw a1, 0(s2)
  `,
    {},
    {
      0x60: pte(F0, V | RD | WR | A | D),
      0x63: pte(F1, V | RD | WR | A | D),
      0x64: pte(F0, V | RD | A),
      0x65: pte(F1, V | RD | A),
    },
  );
  assert.deepEqual(r.log().map((e) => [e.cause, e.tval.toString(16)]), [
    [13, va(0x61).toString(16)],
    [15, (va(0x62) + 0xffd).toString(16)],
  ]);
  assert.equal(r.x(R.a0), 7);
  // F0 + 0xffe.. = 00 00 | F1 + 0 = 22 22 (little-endian)
  assert.equal(r.u(R.a1), 0x2222_0000);
});

Deno.test("sv32: a store after a load on the same page still sets D", () => {
  const r = run(
    `${START("S", "smain")}
  smain:
    li s0, ${va(0x24)}
    lw a0, 0(s0)
    lw a1, 4(s0)
    sw a0, 8(s0)
    lw a2, 8(s0)
  `,
    {},
    { 0x24: pte(F1, V | RD | WR) },
  );
  assert.deepEqual(r.log(), []);
  assert.equal(r.word(L0 + 0x24 * 4), pte(F1, V | RD | WR | A | D));
  assert.equal(r.u(R.a2), 0x2222_2222);
});
