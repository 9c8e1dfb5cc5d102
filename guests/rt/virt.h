/*
 * virt.h — the QEMU `virt` machine's physical addresses, as the guests see them.
 * Mirrors devices/virt_map.ts (DESIGN §3); change both together.
 */
#ifndef VIRT_H
#define VIRT_H

#define TEST_BASE 0x00100000u /* SiFive test finisher */
#define TEST_PASS 0x5555u
#define TEST_FAIL 0x3333u /* (code << 16) | TEST_FAIL */

#define CLINT_BASE 0x02000000u
#define CLINT_MSIP (CLINT_BASE + 0x0000u)     /* hart 0 machine software interrupt */
#define CLINT_MTIMECMP (CLINT_BASE + 0x4000u) /* hart 0, 64-bit */
#define CLINT_MTIME (CLINT_BASE + 0xBFF8u)    /* 64-bit, 10 MHz */
#define TIMEBASE_HZ 10000000u

#define PLIC_BASE 0x0C000000u

#define UART_BASE 0x10000000u
#define UART_IRQ 10
/* UART 16550 registers (byte-wide, stride 1, as on QEMU virt). */
#define UART_THR 0    /* transmit holding (write) */
#define UART_IER 1    /* interrupt enable */
#define UART_FCR 2    /* FIFO control (write) */
#define UART_LCR 3    /* line control */
#define UART_LSR 5    /* line status */
#define LSR_THRE 0x20 /* transmit holding register empty */

#define VIRTIO_BASE 0x10001000u
#define VIRTIO_STRIDE 0x1000u
#define VIRTIO_COUNT 8

#define RAM_BASE 0x80000000u

#endif
