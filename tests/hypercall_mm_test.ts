/**
 * Memory-management hypercalls of PV domains (DESIGN §5, §6): mmu_update,
 * update_va_mapping and mmuext_op under Xen's page-type rules — a new mapping the guest
 * reads through, and every refusal (EPERM for frames not owned, EBUSY for type conflicts,
 * EINVAL for malformed entries), each counted in the domain's statistics and visible in
 * the trace.
 *
 * The harness (tests/pv_asm.ts) gives the body: s2/s3 the scratch page's VA and machine
 * frame, s4 the machine address of the leaf table mapping VBASE…+4 MiB, s5 the root's.
 */

import assert from "node:assert/strict";
import {
  DOMID_SELF,
  ERRNO,
  HYPERVISOR,
  MMU,
  MMUEXT,
  PTE,
  START_INFO,
  UVMF,
} from "../kernel/abi.ts";
import { PGT } from "../kernel/frames.ts";
import { summarize } from "../kernel/summary.ts";
import { type AsmSystem, hc, runAsm } from "./pv_asm.ts";

const { EPERM, ESRCH, EFAULT, EBUSY, EINVAL, ENOSYS } = ERRNO;
const H = HYPERVISOR;
const RA = PTE.V | PTE.R | PTE.A;
const RWA = RA | PTE.W | PTE.D;
/** VA of leaf slot 512, unmapped at boot (the linear map ends at slot 256). */
const SPARE_VA = 0xc020_0000;

/** `rd` = machine address of leaf-table slot `slot` (s4 = leaf table). */
const leafSlot = (rd: string, slot: number) => `  li ${rd}, ${4 * slot}\n  add ${rd}, ${rd}, s4\n`;
/** `rd` = a PTE for the machine frame in `mfn` with `flags`. */
const pteOf = (rd: string, mfn: string, flags: number) =>
  `  slli ${rd}, ${mfn}, 10\n  ori ${rd}, ${rd}, ${flags}\n`;
/** Request `i` of `reqs` = (ptr, val) from registers. */
const setReq = (i: number, ptr: string, val: string) =>
  `  la t0, reqs\n  sw ${ptr}, ${8 * i}(t0)\n  sw ${val}, ${8 * i + 4}(t0)\n`;
/** mmu_update of `n` requests from `reqs` (done → `done`), result in `slot`, done in `slot`+1. */
const mmu = (n: number, slot: number, foreign: number | string = DOMID_SELF) => `
  la t0, done
  li t1, -1
  sw t1, 0(t0)
${hc(H.mmu_update, ["=reqs", n, "=done", foreign], slot)}
  la t0, done
  lw t0, 0(t0)
  sw t0, ${4 * (slot + 1)}(s1)
`;
/** `rd` = the machine frame of guest frame `s8` + `k` (a free page after the scratch one). */
const freeMfn = (rd: string, k: number) =>
  `  addi ${rd}, s8, ${k}\n  slli ${rd}, ${rd}, 2\n  add ${rd}, ${rd}, s7\n  lw ${rd}, 0(${rd})\n`;
/** `rd` = the VA of guest frame `s8` + `k`. */
const freeVa = (rd: string, k: number) => `  li ${rd}, ${k * 4096}\n  add ${rd}, ${rd}, s2\n`;

const DATA = `
reqs: .space 64
done: .word 0
foreign: .word 0
foreign_pt: .word 0
`;

/** Page-table refusals in the trace (pt_update and mmuext records with a negative result). */
function refusals(s: AsmSystem): number[] {
  return s.trace.records({ events: new Set(["pt_update", "mmuext"]), dom: 0 })
    .map((e) => e.result as number)
    .filter((r) => r < 0);
}

/**
 * Boots a DomU to run `asm` beside a second domain; its data words `foreign` and
 * `foreign_pt` hold that domain's first frame and its leaf table.
 */
function withNeighbour(asm: string, traps = false): AsmSystem {
  return runAsm([{ asm, data: DATA }, { asm: "" }], {
    traps,
    setup: (s) => {
      s.poke(0, "foreign", s.doms[1].p2m[0]);
      s.poke(
        0,
        "foreign_pt",
        s.hv.frames.ownedBy(1).find((m) => {
          const i = s.hv.frames.index(m);
          return s.hv.frames.type[i] === PGT.l1;
        })!,
      );
    },
  });
}

Deno.test("mmu_update: a new mapping the guest reads through, and MACHPHYS_UPDATE", () => {
  const s = withNeighbour(`
  li t0, 0x600dcafe
  sw t0, 0(s2)
${leafSlot("s9", 512)}
${pteOf("s10", "s3", RA)}
${setReq(0, "s9", "s10")}
${mmu(1, 0)}
  li t0, ${SPARE_VA}
  lw t0, 0(t0)
  sw t0, 8(s1)
  # an empty batch does nothing and reports 0 done
${mmu(0, 3)}
  # M2P: ours, then a frame we do not own, then an unknown kind
  slli s9, s3, 12
  ori s9, s9, ${MMU.MACHPHYS_UPDATE}
  li s10, 1234
${setReq(0, "s9", "s10")}
${mmu(1, 5)}
  la t0, foreign
  lw s9, 0(t0)
  slli s9, s9, 12
  ori s9, s9, ${MMU.MACHPHYS_UPDATE}
${setReq(0, "s9", "s10")}
${mmu(1, 7)}
  slli s9, s3, 12
  ori s9, s9, 2
${setReq(0, "s9", "s10")}
${mmu(1, 9)}
`);
  const r = s.r, d = s.doms[0], f = s.hv.frames;
  assert.deepEqual(r.slice(0, 3), [0, 1, 0x600dcafe]);
  assert.deepEqual(r.slice(3, 5), [0, 0]);
  assert.deepEqual(r.slice(5, 11), [0, 1, -EPERM, 0, -ENOSYS, 0]);
  const scratch = s.info[0].scratch;
  assert.equal(f.m2p[f.index(scratch)], 1234, "the M2P entry was updated");
  assert.equal(f.m2p[f.index(s.doms[1].p2m[0])], 0, "the neighbour's M2P is untouched");
  assert.equal(d.stats.ptAccepted, 1);
  assert.equal(d.stats.ptRefused, 0);
  // The frame has a second (read-only) mapping: two general references plus allocation.
  const i = f.index(scratch);
  assert.equal(f.refCount[i], 3);
  assert.equal(f.type[i], PGT.writable);
  assert.equal(f.typeCount[i], 1);
});

Deno.test("mmu_update refuses foreign frames, type conflicts and malformed entries", () => {
  const one = (slot: number, ptr: string, val: string) => `${setReq(0, ptr, val)}${mmu(1, slot)}`;
  const s = withNeighbour(`
${leafSlot("s9", 513)}
  la t0, foreign
  lw t0, 0(t0)
${pteOf("s10", "t0", RA)}
${one(0, "s9", "s10")}
  # a free frame, and one beyond machine memory
  li t0, 0x81000
${pteOf("s10", "t0", RA)}
${one(2, "s9", "s10")}
  li t0, 0xfffff
${pteOf("s10", "t0", RA)}
${one(4, "s9", "s10")}
  # writable mappings of the leaf table and of the root
  srli t0, s4, 12
${pteOf("s10", "t0", RWA)}
${one(6, "s9", "s10")}
  srli t0, s5, 12
${pteOf("s10", "t0", RWA)}
${one(8, "s9", "s10")}
  # W without R; V alone (a pointer in a leaf table)
${pteOf("s10", "s3", PTE.V | PTE.W)}
${one(10, "s9", "s10")}
${pteOf("s10", "s3", PTE.V)}
${one(12, "s9", "s10")}
  # ptr inside an ordinary (writable) frame of ours, and inside another domain's table
  slli s11, s3, 12
${pteOf("s10", "s3", RA)}
${one(14, "s11", "s10")}
  la t0, foreign_pt
  lw s11, 0(t0)
  slli s11, s11, 12
${one(16, "s11", "s10")}
  # the root: a superpage, and a pointer to a frame that is writable (not a table)
  li s11, ${4 * 0x301}
  add s11, s11, s5
${pteOf("s10", "s3", RA)}
${one(18, "s11", "s10")}
${pteOf("s10", "s3", PTE.V)}
${one(20, "s11", "s10")}
`);
  const r = s.r;
  const got = Array.from({ length: 11 }, (_, k) => [r[2 * k], r[2 * k + 1]]);
  assert.deepEqual(got, [
    [-EPERM, 0], // another domain's frame
    [-EPERM, 0], // a free frame
    [-EPERM, 0], // no such frame
    [-EBUSY, 0], // the leaf table, writable
    [-EBUSY, 0], // the root, writable
    [-EINVAL, 0], // W without R
    [-EINVAL, 0], // a pointer in a leaf table
    [-EINVAL, 0], // ptr not in a page table
    [-EPERM, 0], // ptr in a table we do not own
    [-EINVAL, 0], // superpage
    [-EBUSY, 0], // a writable frame as a leaf table
  ]);
  const d = s.doms[0];
  assert.equal(d.stats.ptAccepted, 0);
  assert.equal(d.stats.ptRefused, 11);
  assert.deepEqual(refusals(s), got.map(([x]) => x));
  // Nothing was written.
  const bus = s.hv.bus,
    leaf = s.hv.frames.ownedBy(0).find((m) => s.hv.frames.type[s.hv.frames.index(m)] === PGT.l1)!;
  assert.equal(bus.i32[((leaf * 4096 + 513 * 4) - bus.ramBase) >> 2], 0);
  // The summary shows them too.
  assert.deepEqual(summarize(s.hv).domains[0].ptUpdates, { accepted: 0, refused: 11 });
});

Deno.test("mmu_update batches: limits, done after a failure, faults, foreigndom", () => {
  const s = withNeighbour(
    `
  # three requests; the second is malformed: one applied, done = 1
${leafSlot("s9", 520)}
${pteOf("s10", "s3", RA)}
${setReq(0, "s9", "s10")}
${leafSlot("s9", 521)}
${pteOf("s10", "s3", PTE.V | PTE.W)}
${setReq(1, "s9", "s10")}
${leafSlot("s9", 522)}
${pteOf("s10", "s3", RA)}
${setReq(2, "s9", "s10")}
${mmu(3, 0)}
${mmu(4097, 2)}
${mmu(-1, 4)}
${hc(H.mmu_update, [0, 1, "=done", DOMID_SELF], 6)}
${mmu(1, 7, 1)}
${mmu(1, 9, 7)}
  # a good request, and no done pointer
${leafSlot("s9", 523)}
${pteOf("s10", "s3", RA)}
${setReq(0, "s9", "s10")}
${hc(H.mmu_update, ["=reqs", 1, 0, DOMID_SELF], 11)}
  # an unmapped done pointer: the update is made, the call faults
${leafSlot("s9", 524)}
${setReq(0, "s9", "s10")}
${hc(H.mmu_update, ["=reqs", 1, 4, DOMID_SELF], 12)}
  # a request array that runs into an unmapped page: the first request is made
${freeVa("s9", 1)}
${hc(H.update_va_mapping, ["s9", 0, UVMF.INVLPG], 13)}
${leafSlot("t1", 525)}
${pteOf("t2", "s3", RA)}
  sw t1, -8(s9)
  sw t2, -4(s9)
  la t0, done
  li t1, -1
  sw t1, 0(t0)
  addi a0, s9, -8
${hc(H.mmu_update, ["a0", 2, "=done", DOMID_SELF], 14)}
  la t0, done
  lw t0, 0(t0)
  sw t0, 60(s1)
`,
  );
  const r = s.r;
  assert.deepEqual(r.slice(0, 2), [-EINVAL, 1]);
  assert.deepEqual(r.slice(2, 6), [-EINVAL, -1, -EINVAL, -1], "limits checked before anything");
  assert.equal(r[6], -EFAULT, "unmapped request array");
  assert.deepEqual(r.slice(7, 11), [-EPERM, -1, -EPERM, -1], "foreigndom from a DomU");
  assert.deepEqual(r.slice(11, 13), [0, -EFAULT]);
  assert.equal(r[13], 0);
  assert.deepEqual(r.slice(14, 16), [-EFAULT, 1], "done counts the request made before the fault");
  const bus = s.hv.bus, f = s.hv.frames;
  const leaf = f.ownedBy(0).find((m) => f.type[f.index(m)] === PGT.l1)!;
  const entry = (slot: number) => bus.i32[((leaf * 4096 + slot * 4) - bus.ramBase) >> 2];
  assert.notEqual(entry(520), 0, "the request before the failure was applied");
  assert.equal(entry(521), 0);
  assert.equal(entry(522), 0, "nothing after the failure");
  assert.notEqual(entry(523), 0);
  assert.notEqual(entry(524), 0);
  assert.notEqual(entry(525), 0);
});

Deno.test("mmu_update with foreigndom from a privileged domain", () => {
  const s = runAsm([{
    privileged: true,
    asm: `
  la t0, foreign_pt
  lw s9, 0(t0)
  slli s9, s9, 12
  li t0, ${4 * 600}
  add s9, s9, t0
  la t0, foreign
  lw t0, 0(t0)
${pteOf("s10", "t0", RA)}
${setReq(0, "s9", "s10")}
${mmu(1, 0, 1)}
${mmu(1, 2, 9)}
  # its own frame is not the other domain's to map
${pteOf("s10", "s3", RA)}
${setReq(0, "s9", "s10")}
${mmu(1, 4, 1)}
  # mmuext_op on the other domain: pin and unpin its leaf table; never its base pointer
  la t0, foreign_pt
  lw s9, 0(t0)
  la t0, ops
  sw s9, 4(t0)
  li t1, ${MMUEXT.PIN_L1_TABLE}
  sw t1, 0(t0)
${hc(H.mmuext_op, ["=ops", 1, "=done", 1], 6)}
  la t0, ops
  li t1, ${MMUEXT.UNPIN_TABLE}
  sw t1, 0(t0)
${hc(H.mmuext_op, ["=ops", 1, "=done", 1], 7)}
  la t0, ops
  li t1, ${MMUEXT.NEW_BASEPTR}
  sw t1, 0(t0)
${hc(H.mmuext_op, ["=ops", 1, "=done", 1], 8)}
`,
    data: `${DATA}\nops: .space 12`,
  }, { asm: "" }], {
    setup: (s) => {
      s.poke(0, "foreign", s.doms[1].p2m[0]);
      s.poke(
        0,
        "foreign_pt",
        s.hv.frames.ownedBy(1).find((m) => s.hv.frames.type[s.hv.frames.index(m)] === PGT.l1)!,
      );
    },
  });
  assert.deepEqual(s.r.slice(0, 9), [0, 1, -ESRCH, -1, -EPERM, 0, 0, 0, -EINVAL]);
  const f = s.hv.frames, bus = s.hv.bus;
  const leaf = f.ownedBy(1).find((m) => f.type[f.index(m)] === PGT.l1)!;
  const e = bus.i32[((leaf * 4096 + 600 * 4) - bus.ramBase) >> 2];
  assert.equal(e >>> 10, s.doms[1].p2m[0]);
});

// ---- update_va_mapping ---------------------------------------------------------------

Deno.test("update_va_mapping: map, remap with each flush flag, unmap, and refusals", () => {
  const s = withNeighbour(
    `
  li t0, 0x11111111
  sw t0, 0(s2)
${freeVa("t1", 1)}
  li t0, 0x22222222
  sw t0, 0(t1)
${freeMfn("s9", 1)}
  li a0, ${SPARE_VA}
${pteOf("a1", "s3", RA)}
${hc(H.update_va_mapping, ["a0", "a1", UVMF.INVLPG], 0)}
  li t0, ${SPARE_VA}
  lw t0, 0(t0)
  sw t0, 4(s1)
  li a0, ${SPARE_VA}
${pteOf("a1", "s9", RA)}
${hc(H.update_va_mapping, ["a0", "a1", UVMF.TLB_FLUSH], 2)}
  li t0, ${SPARE_VA}
  lw t0, 0(t0)
  sw t0, 12(s1)
  li a0, ${SPARE_VA}
${pteOf("a1", "s3", RWA)}
${hc(H.update_va_mapping, ["a0", "a1", UVMF.INVLPG | UVMF.ALL], 4)}
  li t0, ${SPARE_VA}
  lw t1, 0(t0)
  sw t1, 20(s1)
  li t1, 0x33333333
  sw t1, 0(t0)
  lw t0, 0(s2)
  sw t0, 24(s1)
  # refusals
  li s10, ${SPARE_VA}
${pteOf("s11", "s3", RA)}
${hc(H.update_va_mapping, ["s10", "s11", 3], 7)}
${hc(H.update_va_mapping, ["s10", "s11", 8], 8)}
  li a0, 0x10000000
${hc(H.update_va_mapping, ["a0", "s11", 0], 9)}
  srli t0, s4, 12
${pteOf("a1", "t0", RWA)}
${hc(H.update_va_mapping, ["s10", "a1", UVMF.INVLPG], 10)}
  la t0, foreign
  lw t0, 0(t0)
${pteOf("a1", "t0", RA)}
${hc(H.update_va_mapping, ["s10", "a1", UVMF.INVLPG], 11)}
${pteOf("a1", "s3", PTE.V | PTE.W)}
${hc(H.update_va_mapping, ["s10", "a1", UVMF.INVLPG], 12)}
  # unmap: the next load faults (the harness counts and skips it)
${hc(H.update_va_mapping, ["s10", 0, UVMF.INVLPG], 13)}
  li t0, ${SPARE_VA}
  lw t1, 0(t0)
`,
    true,
  );
  const r = s.r;
  assert.deepEqual(r.slice(0, 7), [0, 0x11111111, 0, 0x22222222, 0, 0x11111111, 0x33333333]);
  assert.deepEqual(r.slice(7, 14), [-EINVAL, -EINVAL, -EINVAL, -EBUSY, -EPERM, -EINVAL, 0]);
  assert.deepEqual(s.traps[0], { count: 1, cause: 13, tval: SPARE_VA, epc: s.traps[0].epc });
  const d = s.doms[0];
  // Three refused by the rules; bad flags and a VA without a leaf table never reach them.
  assert.equal(d.stats.ptRefused, 3);
  assert.equal(d.stats.ptAccepted, 4);
  assert.deepEqual(refusals(s), [-EBUSY, -EPERM, -EINVAL]);
  // Only the linear map is left on the scratch frame: nothing leaked from the remaps.
  const f = s.hv.frames, i = f.index(s.info[0].scratch);
  assert.deepEqual([f.type[i], f.typeCount[i], f.refCount[i]], [PGT.writable, 1, 2]);
});

// ---- mmuext_op -----------------------------------------------------------------------

/** One mmuext op from `ops` (arg1 a register or number, arg2 likewise or "=label"); clobbers t5, t6. */
const op = (cmd: number, arg1: string | number, slot: number, arg2: string | number = 0) => {
  const set = (x: string | number) =>
    typeof x === "number"
      ? `li t6, ${x}`
      : x.startsWith("=")
      ? `la t6, ${x.slice(1)}`
      : `mv t6, ${x}`;
  return `
  la t5, ops
  li t6, ${cmd}
  sw t6, 0(t5)
  ${set(arg1)}
  sw t6, 4(t5)
  ${set(arg2)}
  sw t6, 8(t5)
${hc(H.mmuext_op, ["=ops", 1, "=done", DOMID_SELF], slot)}
`;
};

const MMUEXT_DATA = `
${DATA}
ops: .space 48
mask: .word 1
mask_bad: .word 2
`;

Deno.test("mmuext_op: pinning under the type rules, and every refusal", () => {
  const s = runAsm([{
    asm: `
${op(MMUEXT.PIN_L1_TABLE, "s3", 0)}
  # make it read-only: now it may become a page table
${pteOf("a1", "s3", RA)}
${hc(H.update_va_mapping, ["s2", "a1", UVMF.INVLPG], 1)}
${op(MMUEXT.PIN_L1_TABLE, "s3", 2)}
${op(MMUEXT.PIN_L1_TABLE, "s3", 3)}
${op(MMUEXT.PIN_L2_TABLE, "s3", 4)}
${op(MMUEXT.NEW_BASEPTR, "s3", 5)}
${op(MMUEXT.UNPIN_TABLE, "s3", 6)}
${op(MMUEXT.UNPIN_TABLE, "s3", 7)}
  la t0, foreign
  lw t2, 0(t0)
${op(MMUEXT.PIN_L1_TABLE, "t2", 8)}
${op(MMUEXT.UNPIN_TABLE, "t2", 9)}
${op(MMUEXT.PIN_L3_TABLE, "s3", 10)}
${op(MMUEXT.PIN_L4_TABLE, "s3", 11)}
${op(99, "s3", 12)}
${freeMfn("s9", 1)}
${op(MMUEXT.NEW_BASEPTR, "s9", 13)}
${op(MMUEXT.PIN_L2_TABLE, "s9", 14)}
  # a table whose entries break the rules fails validation, and leaves no type behind
${freeVa("s10", 2)}
${freeMfn("s11", 2)}
${pteOf("t0", "s3", PTE.V | PTE.W)}
  sw t0, 40(s10)
${pteOf("a1", "s11", RA)}
${hc(H.update_va_mapping, ["s10", "a1", UVMF.INVLPG], 15)}
${op(MMUEXT.PIN_L1_TABLE, "s11", 16)}
${pteOf("a1", "s11", RWA)}
${hc(H.update_va_mapping, ["s10", "a1", UVMF.INVLPG], 17)}
  la t0, foreign
  lw t0, 0(t0)
${pteOf("t0", "t0", RA)}
  sw t0, 40(s10)
${pteOf("a1", "s11", RA)}
${hc(H.update_va_mapping, ["s10", "a1", UVMF.INVLPG], 18)}
${op(MMUEXT.PIN_L1_TABLE, "s11", 19)}
  # the scratch page pinned as L1 again, then back to writable once unpinned
${op(MMUEXT.PIN_L1_TABLE, "s3", 20)}
${pteOf("a1", "s3", RWA)}
${hc(H.update_va_mapping, ["s2", "a1", UVMF.INVLPG], 21)}
${op(MMUEXT.UNPIN_TABLE, "s3", 22)}
${pteOf("a1", "s3", RWA)}
${hc(H.update_va_mapping, ["s2", "a1", UVMF.INVLPG], 23)}
  li t0, 0x77
  sw t0, 0(s2)
`,
    data: MMUEXT_DATA,
  }, { asm: "" }], { setup: (s) => s.poke(0, "foreign", s.doms[1].p2m[0]) });
  const r = s.r;
  assert.deepEqual(r.slice(0, 15), [
    -EBUSY, // still mapped writable
    0,
    0, // pinned once read-only
    -EINVAL, // twice
    -EBUSY, // as L2 while it is an L1
    -EBUSY, // an L1 as root
    0,
    -EINVAL, // unpin of an unpinned frame
    -EPERM,
    -EPERM,
    -EINVAL, // no L3 on Sv32
    -EINVAL, // nor L4
    -EINVAL, // unknown
    -EBUSY, // a writable frame as root
    -EBUSY,
  ]);
  assert.deepEqual(r.slice(15, 20), [0, -EINVAL, 0, 0, -EPERM]);
  assert.deepEqual(r.slice(20, 24), [0, -EBUSY, 0, 0]);
  const d = s.doms[0];
  const refused = r.slice(0, 24).filter((x, k) => x < 0 && ![17, 18].includes(k));
  assert.equal(d.stats.ptRefused, refused.length);
  assert.deepEqual(refusals(s), refused);
  const mm = s.trace.records({ events: new Set(["mmuext"]), dom: 0 });
  assert.ok(mm.some((e) => e.cmd === MMUEXT.PIN_L2_TABLE && e.result === -EBUSY));
  // Failed validations leave no type or pin behind.
  const d0 = s.doms[0], f = s.hv.frames;
  const t = f.index(d0.p2m[d0.p2m.indexOf(s.info[0].scratch) + 2]);
  assert.equal(f.owner[t], 0);
  assert.deepEqual([f.typeCount[t], f.pinned[t]], [0, 0]);
  const i = f.index(s.info[0].scratch);
  assert.deepEqual([f.type[i], f.typeCount[i], f.pinned[i]], [PGT.writable, 1, 0]);
});

Deno.test("mmuext_op: a new root the Xen way (build, read-only, pin, new base) and back", () => {
  const s = runAsm([{
    asm: `
  # copy the root's entry for VBASE into a fresh page
  lw t0, ${START_INFO.at.pt_base}(s0)
  li t1, ${4 * 0x300}
  add t0, t0, t1
  lw t2, 0(t0)
  add t1, t1, s2
  sw t2, 0(t1)
${pteOf("a1", "s3", RA)}
${hc(H.update_va_mapping, ["s2", "a1", UVMF.INVLPG], 0)}
  srli s9, s5, 12
${op(MMUEXT.NEW_BASEPTR, "s3", 1)}
${op(MMUEXT.PIN_L2_TABLE, "s3", 2)}
${op(MMUEXT.NEW_BASEPTR, "s3", 3)}
  li t0, 0x1234
  sw t0, 16(s1)
${op(MMUEXT.NEW_BASEPTR, "s9", 5)}
${op(MMUEXT.UNPIN_TABLE, "s3", 6)}
`,
    data: MMUEXT_DATA,
  }]);
  // NEW_BASEPTR validates an unpinned root itself, as Xen's does.
  assert.deepEqual(s.r.slice(0, 7), [0, 0, 0, 0, 0x1234, 0, 0]);
  const d = s.doms[0], f = s.hv.frames, info = s.info[0];
  assert.equal(d.stats.ptRefused, 0);
  assert.equal(d.vcpus[0].hart.satp & 0x3fffff, info.root / 4096, "back on the first root");
  // The new root released its references when its last use went.
  const i = f.index(info.scratch), leaf = f.index(info.leaf / 4096);
  assert.deepEqual([f.typeCount[i], f.pinned[i]], [0, 0]);
  assert.deepEqual([f.type[leaf], f.typeCount[leaf]], [PGT.l1, 1]);
  const mm = s.trace.records({ events: new Set(["mmuext"]), dom: 0 });
  assert.deepEqual(mm.map((e) => [e.cmd, e.result]), [
    [MMUEXT.NEW_BASEPTR, 0],
    [MMUEXT.PIN_L2_TABLE, 0],
    [MMUEXT.NEW_BASEPTR, 0],
    [MMUEXT.NEW_BASEPTR, 0],
    [MMUEXT.UNPIN_TABLE, 0],
  ]);
});

Deno.test("mmuext_op: TLB flushes, masks, batches and foreigndom", () => {
  const s = runAsm([{
    asm: `
${op(MMUEXT.TLB_FLUSH_LOCAL, 0, 0)}
${op(MMUEXT.INVLPG_LOCAL, "s2", 1)}
${op(MMUEXT.TLB_FLUSH_MULTI, 0, 2, "=mask")}
${op(MMUEXT.INVLPG_MULTI, "s2", 3, "=mask")}
${op(MMUEXT.TLB_FLUSH_ALL, 0, 4)}
${op(MMUEXT.INVLPG_ALL, "s2", 5)}
${op(MMUEXT.TLB_FLUSH_MULTI, 0, 6, "=mask_bad")}
${op(MMUEXT.TLB_FLUSH_MULTI, 0, 7, 0)}
  # a batch of three whose second fails: done = 1
  la t0, ops
  li t1, ${MMUEXT.TLB_FLUSH_LOCAL}
  sw t1, 0(t0)
  sw t1, 24(t0)
  li t1, ${MMUEXT.UNPIN_TABLE}
  sw t1, 12(t0)
  sw s3, 16(t0)
  la t0, done
  sw zero, 0(t0)
${hc(H.mmuext_op, ["=ops", 3, "=done", DOMID_SELF], 8)}
  la t0, done
  lw t0, 0(t0)
  sw t0, 36(s1)
${hc(H.mmuext_op, ["=ops", 4097, "=done", DOMID_SELF], 10)}
${hc(H.mmuext_op, ["=ops", -1, "=done", DOMID_SELF], 11)}
${hc(H.mmuext_op, [0, 1, "=done", DOMID_SELF], 12)}
${hc(H.mmuext_op, ["=ops", 1, "=done", 1], 13)}
${hc(H.mmuext_op, ["=ops", 0, "=done", DOMID_SELF], 14)}
`,
    data: MMUEXT_DATA,
  }]);
  assert.deepEqual(s.r.slice(0, 15), [
    0,
    0,
    0,
    0,
    0,
    0,
    -EINVAL, // a vCPU the domain does not have
    -EFAULT, // unmapped mask
    -EINVAL,
    1,
    -EINVAL,
    -EINVAL,
    -EFAULT,
    -EPERM,
    0,
  ]);
  const d = s.doms[0];
  assert.ok(d.stats.tlbFlushes >= 4);
  assert.equal(d.stats.ptRefused, 2);
});

Deno.test("mmuext_op: after a remap by mmu_update, INVLPG_LOCAL and TLB_FLUSH_LOCAL show the new frame", () => {
  const remap = (mfn: string, slot: number) => `
${leafSlot("s9", 512)}
${pteOf("s10", mfn, RA)}
${setReq(0, "s9", "s10")}
${mmu(1, slot)}
`;
  const read = (slot: number) => `  li t0, ${SPARE_VA}\n  lw t0, 0(t0)\n  sw t0, ${4 * slot}(s1)\n`;
  const s = runAsm([{
    asm: `
  li t0, 0xaaaa
  sw t0, 0(s2)
${freeVa("t1", 1)}
  li t0, 0xbbbb
  sw t0, 0(t1)
${freeMfn("s11", 1)}
${remap("s3", 0)}
${read(2)}
${remap("s11", 3)}
  li t0, ${SPARE_VA}
${op(MMUEXT.INVLPG_LOCAL, "t0", 5)}
${read(6)}
${remap("s3", 7)}
${op(MMUEXT.TLB_FLUSH_LOCAL, 0, 9)}
${read(10)}
`,
    data: MMUEXT_DATA,
  }]);
  assert.deepEqual(s.r.slice(0, 11), [0, 1, 0xaaaa, 0, 1, 0, 0xbbbb, 0, 1, 0, 0xaaaa]);
});
