/**
 * The disassembler (vmm/disasm.ts): hand-encoded words of every format (Unprivileged ISA
 * §2.2–2.3 base formats, ch. 7–9 M/A/Zicsr, Privileged ISA §3.3 and §4.2.1 system
 * instructions) and RVC parcels (Unpriv ch. 16) decode to the expected text and length;
 * PC-relative targets are absolute; illegal encodings say so.
 */

import assert from "node:assert/strict";
import { disassemble } from "../vmm/disasm.ts";

const dis = (w: number, pc = 0) => disassemble(w & 0xffff, (w >>> 16) & 0xffff, pc);

Deno.test("disasm: base formats", () => {
  const cases: [number, string][] = [
    [0x0000_0013, "addi zero, zero, 0"],
    [0xfff0_0513, "addi a0, zero, -1"],
    [0x00c5_8533, "add a0, a1, a2"],
    [0x4073_02b3, "sub t0, t1, t2"],
    [0x1234_52b7, "lui t0, 0x12345"],
    [0x0000_1517, "auipc a0, 0x1"],
    [0x00b5_2423, "sw a1, 8(a0)"],
    [0xffc1_2503, "lw a0, -4(sp)"],
    [0x0005_4503, "lbu a0, 0(a0)"],
    [0x4035_5513, "srai a0, a0, 3"],
    [0x01f5_9593, "slli a1, a1, 31"],
    [0x0005_8067, "jalr zero, 0(a1)"],
    [0x0000_8067, "jalr zero, 0(ra)"],
  ];
  for (const [w, t] of cases) assert.deepEqual(dis(w), { text: t, len: 4 }, w.toString(16));
});

Deno.test("disasm: branch and jump targets are pc-relative, shown absolute", () => {
  assert.deepEqual(dis(0xfeb5_0ee3, 0x100), { text: "beq a0, a1, 0xfc", len: 4 });
  assert.deepEqual(dis(0x0080_00ef, 0x8000_1000), { text: "jal ra, 0x80001008", len: 4 });
  // jal zero, -2048 from 0x80000800: imm[20] = 1, imm[19:12] = 0xff, imm[11] = 1
  assert.deepEqual(dis(0x801f_f06f, 0x8000_0800), { text: "jal zero, 0x80000000", len: 4 });
  assert.deepEqual(dis(0x80b5_1063, 0x1000), { text: "bne a0, a1, 0x0", len: 4 });
});

Deno.test("disasm: M, A, Zicsr and system instructions", () => {
  const cases: [number, string][] = [
    [0x02c5_8533, "mul a0, a1, a2"],
    [0x02c5_d533, "divu a0, a1, a2"],
    [0x02c5_f533, "remu a0, a1, a2"],
    [0x08c5_a52f, "amoswap.w a0, a2, (a1)"],
    [0x1005_a52f, "lr.w a0, (a1)"],
    [0x18b4_26af, "sc.w a3, a1, (s0)"],
    [0x06b4_252f, "amoadd.w a0, a1, (s0)"], // aq and rl set: same text
    [0xf140_2573, "csrrs a0, mhartid, zero"],
    [0x3004_5073, "csrrwi zero, mstatus, 8"],
    [0x7c00_1073, "csrrw zero, 0x7c0, zero"],
    [0x0000_0073, "ecall"],
    [0x0010_0073, "ebreak"],
    [0x3020_0073, "mret"],
    [0x1020_0073, "sret"],
    [0x1050_0073, "wfi"],
    [0x1200_0073, "sfence.vma zero, zero"],
    [0x12b5_0073, "sfence.vma a0, a1"],
    [0x0ff0_000f, "fence"],
    [0x0000_100f, "fence.i"],
  ];
  for (const [w, t] of cases) assert.deepEqual(dis(w), { text: t, len: 4 }, w.toString(16));
});

// RVC parcels are shown as the base instruction they expand to, prefixed `c.`.
Deno.test("disasm: compressed parcels", () => {
  const cases: [number, string][] = [
    [0x0001, "c.addi zero, zero, 0"],
    [0x4515, "c.addi a0, zero, 5"],
    [0x852e, "c.add a0, zero, a1"],
    [0x952e, "c.add a0, a0, a1"],
    [0x8082, "c.jalr zero, 0(ra)"],
    [0x9502, "c.jalr ra, 0(a0)"],
    [0x9002, "c.ebreak"],
    [0x4532, "c.lw a0, 12(sp)"],
    [0xc22e, "c.sw a1, 4(sp)"],
    [0x41c8, "c.lw a0, 4(a1)"],
    [0x0808, "c.addi a0, sp, 16"],
    [0x7139, "c.addi sp, sp, -64"],
    [0x6505, "c.lui a0, 0x1"],
    [0x8d0d, "c.sub a0, a0, a1"],
    [0x9979, "c.andi a0, a0, -2"],
  ];
  for (const [h, t] of cases) assert.deepEqual(dis(h), { text: t, len: 2 }, h.toString(16));
  // c.j +4 and c.beqz a0, +8 from 0x80000000.
  assert.deepEqual(dis(0xa011, 0x8000_0000), { text: "c.jal zero, 0x80000004", len: 2 });
  assert.deepEqual(dis(0xc501, 0x8000_0000), { text: "c.beq a0, zero, 0x80000008", len: 2 });
});

Deno.test("disasm: a compressed parcel ignores the following halfword", () => {
  assert.deepEqual(disassemble(0x4515, 0xffff), { text: "c.addi a0, zero, 5", len: 2 });
});

Deno.test("disasm: illegal encodings", () => {
  assert.deepEqual(dis(0x0000), { text: "illegal 0x0", len: 2 });
  assert.deepEqual(dis(0x6000), { text: "illegal 0x6000", len: 2 });
  assert.deepEqual(dis(0x8000_0033), { text: "illegal 0x80000033", len: 4 });
  assert.deepEqual(dis(0x0000_007b), { text: "illegal 0x7b", len: 4 });
});
