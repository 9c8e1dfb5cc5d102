/**
 * Constants of the privileged architecture (Privileged ISA 1.12 ch. 3): privilege
 * levels, mstatus fields, interrupt bits and exception causes. Kept apart from the
 * hart so the CSR file, the MMU and the hart can all import them without a cycle.
 */

/** Privilege levels. */
export const PRV_U = 0, PRV_S = 1, PRV_M = 3;

/** mstatus fields (Priv §3.1.6). */
export const MSTATUS = {
  SIE: 1 << 1,
  MIE: 1 << 3,
  SPIE: 1 << 5,
  MPIE: 1 << 7,
  SPP: 1 << 8,
  MPP: 3 << 11,
  MPRV: 1 << 17,
  SUM: 1 << 18,
  MXR: 1 << 19,
  TVM: 1 << 20,
  TW: 1 << 21,
  TSR: 1 << 22,
} as const;

/** Interrupt bits of mip/mie (Priv §3.1.9). */
export const IRQ = {
  SSI: 1 << 1,
  MSI: 1 << 3,
  STI: 1 << 5,
  MTI: 1 << 7,
  SEI: 1 << 9,
  MEI: 1 << 11,
} as const;

/** Exception causes (Priv Table 3.6). */
export const CAUSE = {
  FETCH_MISALIGNED: 0,
  FETCH_ACCESS: 1,
  ILLEGAL: 2,
  BREAKPOINT: 3,
  LOAD_MISALIGNED: 4,
  LOAD_ACCESS: 5,
  STORE_MISALIGNED: 6,
  STORE_ACCESS: 7,
  ECALL_U: 8,
  ECALL_S: 9,
  ECALL_M: 11,
  FETCH_PAGE: 12,
  LOAD_PAGE: 13,
  STORE_PAGE: 15,
  /** Virtual instruction (H extension): what VTVM makes satp and sfence.vma raise in VS. */
  VIRTUAL_INSN: 22,
} as const;
