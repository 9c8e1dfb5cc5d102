/**
 * The CSR file of an RV32 hart with M, S and U modes (Privileged ISA 1.12 ch. 2–4):
 * which CSRs exist, what reads return and which bits writes may change (WARL masks).
 * Privilege and read-only checks are done by the caller (`Hart.csrAllowed`).
 *
 * Choices the spec leaves open, stated once: 16 PMP entries with 4-byte granularity
 * (`pmp.ts`; pmpcfg4–15 and pmpaddr16–63 read as zero); no debug
 * triggers (tselect/tdata read as zero); hardware performance counters 3–31 are
 * hard-wired to zero; misa is read-only; menvcfg/senvcfg implement no fields.
 */

import { counterHalf, type Hart } from "./hart.ts";
import { IRQ, MSTATUS, PRV_M, PRV_U } from "./priv.ts";

/** misa for RV32IMAC with S and U (MXL = 1). */
export const MISA = 0x40000000 |
  [..."acimsu"].reduce((m, c) => m | (1 << (c.charCodeAt(0) - 97)), 0);

const MSTATUS_WRITABLE = MSTATUS.SIE | MSTATUS.MIE | MSTATUS.SPIE | MSTATUS.MPIE | MSTATUS.SPP |
  MSTATUS.MPP | MSTATUS.MPRV | MSTATUS.SUM | MSTATUS.MXR | MSTATUS.TVM | MSTATUS.TW | MSTATUS.TSR;
const SSTATUS_MASK = MSTATUS.SIE | MSTATUS.SPIE | MSTATUS.SPP | MSTATUS.SUM | MSTATUS.MXR;
const MIE_MASK = IRQ.SSI | IRQ.MSI | IRQ.STI | IRQ.MTI | IRQ.SEI | IRQ.MEI;
const MIDELEG_MASK = IRQ.SSI | IRQ.STI | IRQ.SEI;
const MIP_WRITABLE = IRQ.SSI | IRQ.STI | IRQ.SEI;
/** Exceptions that may be delegated: all defined causes but ecall from M (Priv §3.1.8). */
const MEDELEG_MASK = 0x3ff | (1 << 12) | (1 << 13) | (1 << 15);

/** Reads a CSR, raising illegal instruction if it does not exist or is not accessible. */
export function csrRead(h: Hart, csr: number): number {
  switch (csr) {
    case 0x100:
      return h.mstatus & SSTATUS_MASK;
    case 0x104:
      return h.mie & h.mideleg;
    case 0x105:
      return h.stvec;
    case 0x106:
      return h.scounteren;
    case 0x10a:
      return h.senvcfg;
    case 0x140:
      return h.sscratch;
    case 0x141:
      return h.sepc;
    case 0x142:
      return h.scause;
    case 0x143:
      return h.stval;
    case 0x144:
      return h.mip & h.mideleg;
    case 0x180:
      if (h.mmuTrapped()) return 0;
      return h.satp;
    case 0x300:
      return h.mstatus;
    case 0x301:
      return MISA;
    case 0x302:
      return h.medeleg;
    case 0x303:
      return h.mideleg;
    case 0x304:
      return h.mie;
    case 0x305:
      return h.mtvec;
    case 0x306:
      return h.mcounteren;
    case 0x30a:
      return h.menvcfg;
    case 0x310: // mstatush: little-endian M and S, nothing else on RV32 without H
    case 0x31a: // menvcfgh
    case 0x320: // mcountinhibit: counters always count
      return 0;
    case 0x340:
      return h.mscratch;
    case 0x341:
      return h.mepc;
    case 0x342:
      return h.mcause;
    case 0x343:
      return h.mtval;
    case 0x344:
      return h.mip;
    case 0xb00:
      return counterHalf(h.mcycle, 0);
    case 0xb80:
      return counterHalf(h.mcycle, 1);
    case 0xb02:
      return counterHalf(h.minstret, 0);
    case 0xb82:
      return counterHalf(h.minstret, 1);
    case 0xf11: // mvendorid: non-commercial
    case 0xf12: // marchid
    case 0xf13: // mimpid
    case 0xf15: // mconfigptr: no configuration structure
      return 0;
    case 0xf14:
      return h.hartId;
    default:
      if (csr >= 0xc00 && csr <= 0xc9f && (csr & 0x7f) < 0x20) return userCounter(h, csr);
      if (csr >= 0x3a0 && csr <= 0x3af) return h.pmp.readCfg(csr - 0x3a0);
      if (csr >= 0x3b0 && csr <= 0x3ef) return h.pmp.readAddr(csr - 0x3b0);
      if (isZeroCsr(csr)) return 0;
  }
  h.illegal();
  return 0;
}

/** CSRs that exist and read as zero with writes ignored. */
function isZeroCsr(csr: number): boolean {
  return (csr >= 0x323 && csr <= 0x33f) || // mhpmevent3–31
    (csr >= 0x7a0 && csr <= 0x7a3) || // tselect, tdata1–3
    (csr >= 0xb03 && csr <= 0xb1f) || (csr >= 0xb83 && csr <= 0xb9f); // mhpmcounter3–31(h)
}

/** cycle, time, instret, hpmcounterN and their high halves, gated by the counter-enables. */
function userCounter(h: Hart, csr: number): number {
  const n = csr & 31;
  if (
    (h.priv < PRV_M && ((h.mcounteren >>> n) & 1) === 0) ||
    (h.priv === PRV_U && ((h.scounteren >>> n) & 1) === 0)
  ) {
    h.illegal();
    return 0;
  }
  const half = csr >= 0xc80 ? 1 : 0;
  switch (n) {
    case 0:
      return counterHalf(h.mcycle, half);
    case 1:
      return counterHalf(h.host.mtime(h), half);
    case 2:
      return counterHalf(h.minstret, half);
    default:
      return 0;
  }
}

/** Writes a CSR (existence was checked by the read or is checked here). */
export function csrWrite(h: Hart, csr: number, v: number): void {
  switch (csr) {
    case 0x100:
      return setMstatus(h, (h.mstatus & ~SSTATUS_MASK) | (v & SSTATUS_MASK));
    case 0x104: {
      const m = h.mideleg;
      h.mie = (h.mie & ~m) | (v & m);
      h.nextEvent = 0;
      return;
    }
    case 0x105:
      h.stvec = tvec(v);
      return;
    case 0x106:
      h.scounteren = v;
      return;
    case 0x10a:
      return;
    case 0x140:
      h.sscratch = v;
      return;
    case 0x141:
      h.sepc = v & ~1;
      return;
    case 0x142:
      h.scause = v;
      return;
    case 0x143:
      h.stval = v;
      return;
    case 0x144: {
      const m = h.mideleg & IRQ.SSI;
      h.mipSoft = (h.mipSoft & ~m) | (v & m);
      h.nextEvent = 0;
      return;
    }
    case 0x180:
      if (h.mmuTrapped()) return;
      h.satp = v;
      h.flushTlb();
      h.updateContext();
      return;
    case 0x300:
      return setMstatus(h, v);
    case 0x302:
      h.medeleg = v & MEDELEG_MASK;
      return;
    case 0x303:
      h.mideleg = v & MIDELEG_MASK;
      h.nextEvent = 0;
      return;
    case 0x304:
      h.mie = v & MIE_MASK;
      h.nextEvent = 0;
      return;
    case 0x305:
      h.mtvec = tvec(v);
      return;
    case 0x306:
      h.mcounteren = v;
      return;
    case 0x340:
      h.mscratch = v;
      return;
    case 0x341:
      h.mepc = v & ~1;
      return;
    case 0x342:
      h.mcause = v;
      return;
    case 0x343:
      h.mtval = v;
      return;
    case 0x344:
      h.mipSoft = (h.mipSoft & ~MIP_WRITABLE) | (v & MIP_WRITABLE);
      h.nextEvent = 0;
      return;
    case 0xb00:
      return h.setMcycle(0, v);
    case 0xb80:
      return h.setMcycle(1, v);
    case 0xb02:
      return h.setMinstret(0, v);
    case 0xb82:
      return h.setMinstret(1, v);
    default:
      if (csr >= 0x3a0 && csr <= 0x3ef) {
        if (csr <= 0x3af) h.pmp.writeCfg(csr - 0x3a0, v);
        else h.pmp.writeAddr(csr - 0x3b0, v);
        h.flushTlb();
        return;
      }
      // The remaining writable-looking CSRs are read-only zero or WARL with no fields.
      if (csr === 0x301 || csr === 0x30a || csr === 0x310 || csr === 0x31a || csr === 0x320) return;
      if (isZeroCsr(csr)) return;
      h.illegal();
  }
}

/** mstatus write: WARL MPP (2 is reserved: keep the old value), TLB and context upkeep. */
function setMstatus(h: Hart, v: number): void {
  const old = h.mstatus;
  let n = v & MSTATUS_WRITABLE;
  if (((n >>> 11) & 3) === 2) n = (n & ~MSTATUS.MPP) | (old & MSTATUS.MPP);
  h.mstatus = n;
  if ((old ^ n) & (MSTATUS.SUM | MSTATUS.MXR)) h.flushTlb();
  h.updateContext();
  h.nextEvent = 0;
}

/** xtvec WARL: modes 0 (direct) and 1 (vectored); reserved modes become direct. */
function tvec(v: number): number {
  return (v & ~3) | ((v & 3) === 1 ? 1 : 0);
}

/** The privilege a data access uses (MPRV, Priv §3.1.6.3). */
export function dataPriv(h: Hart): number {
  const s = h.mstatus;
  return h.priv === PRV_M && (s & MSTATUS.MPRV) ? (s >>> 11) & 3 : h.priv;
}
