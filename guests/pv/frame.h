/*
 * frame.h — the layouts shared by the PV kernel's assembly and C: the trap frame that
 * entry.S builds on a kernel stack for every trap, and the context swtch saves when the
 * kernel switches from one process's kernel stack to another.
 */
#ifndef PV_FRAME_H
#define PV_FRAME_H

/*
 * Trap frame: x1..x31 at 4 * register number (x0 is always zero, so slot 0 holds the
 * interrupted pc instead; slot 2 holds the interrupted sp), then the trap CSRs. 144 bytes
 * keeps the stack 16-byte aligned as the psABI asks.
 */
#define F_PC 0
#define F_SSTATUS 128
#define F_SCAUSE 132
#define F_STVAL 136
#define FRAME_SIZE 144

/* sstatus.SPP: the privilege the trap came from (1 = S). */
#define SSTATUS_SPP 0x100
#define SSTATUS_SPIE 0x20
#define SSTATUS_SIE 0x2

/* Where the kernel lives in every address space (both builds). */
#define VIRT_BASE 0xC0000000
/* The native build's boot tables map this many 4 MiB megapages at VIRT_BASE. */
#define LINEAR_MEGAPAGES 255
/* satp's MODE bit: Sv32 translation. */
#define SATP_SV32 0x80000000

/* The native build's UART (the virt board's 16550) and where the kernel maps it. */
#define UART_PA 0x10000000
#define UART_VA 0xFFC00000

#ifndef __ASSEMBLER__
typedef unsigned int u32;

struct frame {
  u32 pc;        /* sepc: where to resume */
  u32 x[31];     /* x[i - 1] = register xi, i = 1..31 */
  u32 sstatus;
  u32 scause;
  u32 stval;
  u32 pad;
};
_Static_assert(sizeof(struct frame) == FRAME_SIZE, "frame layout");

/* Register numbers, for reading and writing a frame by ABI name. */
#define REG(f, n) ((f)->x[(n) - 1])
#define R_SP 2
#define R_A0 10
#define R_A1 11
#define R_A2 12
#define R_A7 17

/* What swtch keeps of a kernel thread that gave up the CPU: ra, sp and s0..s11. */
struct context {
  u32 ra, sp, s[12];
};
#endif

#endif
