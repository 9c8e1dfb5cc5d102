/**
 * The physical memory map of QEMU's `virt` machine, as every non-PV domain sees it
 * (DESIGN §3; QEMU hw/riscv/virt.c). One table, used by the bus, the device tree
 * generator and the guests' headers, so they cannot disagree.
 */

/** SiFive test finisher: write 0x5555 pass, (code << 16) | 0x3333 fail, 0x7777 reset. */
export const TEST_BASE = 0x0010_0000;
/** Size of the test finisher window. */
export const TEST_SIZE = 0x1000;

/** CLINT: msip +0x0, mtimecmp +0x4000, mtime +0xBFF8. */
export const CLINT_BASE = 0x0200_0000;
/** Size of the CLINT window. */
export const CLINT_SIZE = 0x1_0000;
/** `mtime` frequency in Hz (the device tree's `timebase-frequency`). */
export const TIMEBASE_HZ = 10_000_000;

/** PLIC: priority +0x0, pending +0x1000, enable +0x2000, threshold/claim +0x20_0000. */
export const PLIC_BASE = 0x0C00_0000;
/** Size of the PLIC window. */
export const PLIC_SIZE = 0x60_0000;
/** Number of PLIC interrupt sources (1..PLIC_NDEV; source 0 does not exist). */
export const PLIC_NDEV = 31;

/** UART 16550. */
export const UART_BASE = 0x1000_0000;
/** Size of the UART window. */
export const UART_SIZE = 0x100;
/** PLIC source of the UART. */
export const UART_IRQ = 10;
/** Input clock of the UART, as QEMU's device tree states it. */
export const UART_CLOCK_HZ = 3_686_400;

/** First virtio-mmio slot; slot n is at VIRTIO_BASE + n * VIRTIO_STRIDE. */
export const VIRTIO_BASE = 0x1000_1000;
/** Distance between virtio-mmio slots. */
export const VIRTIO_STRIDE = 0x1000;
/** Number of virtio-mmio slots. */
export const VIRTIO_COUNT = 8;
/** PLIC source of virtio slot 0; slot n uses VIRTIO_IRQ + n. */
export const VIRTIO_IRQ = 1;

/** Start of RAM. */
export const RAM_BASE = 0x8000_0000;
/** Default RAM size: 128 MiB, as QEMU's default for `virt`. */
export const RAM_DEFAULT_SIZE = 128 * 1024 * 1024;
