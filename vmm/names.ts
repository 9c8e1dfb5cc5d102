/**
 * Names of registers and CSRs as the assembler and disassembler write them
 * (RISC-V ELF psABI register conventions; Privileged ISA 1.12 Tables 2.2–2.5).
 */

/** ABI names of x0–x31. */
export const REG_NAMES = [
  "zero",
  "ra",
  "sp",
  "gp",
  "tp",
  "t0",
  "t1",
  "t2",
  "s0",
  "s1",
  "a0",
  "a1",
  "a2",
  "a3",
  "a4",
  "a5",
  "a6",
  "a7",
  "s2",
  "s3",
  "s4",
  "s5",
  "s6",
  "s7",
  "s8",
  "s9",
  "s10",
  "s11",
  "t3",
  "t4",
  "t5",
  "t6",
] as const;

/** CSR numbers by name, for the CSRs this hart implements. */
export const CSR_NUMBERS: Record<string, number> = {
  sstatus: 0x100,
  sie: 0x104,
  stvec: 0x105,
  scounteren: 0x106,
  senvcfg: 0x10a,
  sscratch: 0x140,
  sepc: 0x141,
  scause: 0x142,
  stval: 0x143,
  sip: 0x144,
  satp: 0x180,
  mstatus: 0x300,
  misa: 0x301,
  medeleg: 0x302,
  mideleg: 0x303,
  mie: 0x304,
  mtvec: 0x305,
  mcounteren: 0x306,
  menvcfg: 0x30a,
  mstatush: 0x310,
  menvcfgh: 0x31a,
  mcountinhibit: 0x320,
  mscratch: 0x340,
  mepc: 0x341,
  mcause: 0x342,
  mtval: 0x343,
  mip: 0x344,
  pmpcfg0: 0x3a0,
  pmpaddr0: 0x3b0,
  tselect: 0x7a0,
  tdata1: 0x7a1,
  tdata2: 0x7a2,
  mcycle: 0xb00,
  minstret: 0xb02,
  mcycleh: 0xb80,
  minstreth: 0xb82,
  cycle: 0xc00,
  time: 0xc01,
  instret: 0xc02,
  cycleh: 0xc80,
  timeh: 0xc81,
  instreth: 0xc82,
  mvendorid: 0xf11,
  marchid: 0xf12,
  mimpid: 0xf13,
  mhartid: 0xf14,
  mconfigptr: 0xf15,
};

// Numbered families: PMP, hardware performance counters and events.
const numbered: Record<string, number> = {};
for (let i = 0; i < 16; i++) numbered[`pmpcfg${i}`] = 0x3a0 + i;
for (let i = 0; i < 64; i++) numbered[`pmpaddr${i}`] = 0x3b0 + i;
for (let i = 3; i < 32; i++) {
  numbered[`mhpmcounter${i}`] = 0xb00 + i;
  numbered[`mhpmcounter${i}h`] = 0xb80 + i;
  numbered[`hpmcounter${i}`] = 0xc00 + i;
  numbered[`hpmcounter${i}h`] = 0xc80 + i;
  numbered[`mhpmevent${i}`] = 0x320 + i;
}
Object.assign(CSR_NUMBERS, numbered);

/** CSR names by number. */
export const CSR_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(CSR_NUMBERS).map(([n, v]) => [v, n]),
);
