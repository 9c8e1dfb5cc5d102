/**
 * SiFive test finisher (`sifive,test1`), the QEMU `virt` device a guest writes to
 * power off or reset the machine (the device tree's `syscon-poweroff` and
 * `syscon-reboot` point at it).
 *
 * The device is one 32-bit register at offset 0: bits 15:0 are a status, bits 31:16
 * a code. Status 0x5555 = pass (exit 0), 0x3333 = fail (exit with the code), 0x7777 =
 * reset; any other value is ignored, as QEMU's sifive_test model does. Reads return 0.
 */

import type { MmioDevice, PowerControl, Width } from "./device.ts";
import { TEST_SIZE } from "./virt_map.ts";

/** Status values of the finisher register (low 16 bits). */
export const FINISHER_FAIL = 0x3333;
/** Pass: exit with status 0. */
export const FINISHER_PASS = 0x5555;
/** Reset the system. */
export const FINISHER_RESET = 0x7777;

/** The test finisher, reporting through {@link PowerControl}. */
export class TestFinisher implements MmioDevice {
  /** Short name for traces and errors. */
  readonly name: string;
  /** Physical base address. */
  readonly base: number;
  /** Size of the MMIO window. */
  readonly size: number = TEST_SIZE;

  private readonly power: PowerControl;

  /**
   * Creates a test finisher.
   *
   * @param base physical base address (normally `TEST_BASE`)
   * @param power receives exit and reset requests
   * @param name short name for traces
   */
  constructor(base: number, power: PowerControl, name = "test") {
    this.base = base;
    this.power = power;
    this.name = name;
  }

  /** The register is write-only: reads return 0. */
  read(_offset: number, _width: Width): number {
    return 0;
  }

  /** A write to offset 0 may end or reset the machine. */
  write(offset: number, width: Width, value: number): void {
    if (offset !== 0) return;
    // Only the bytes actually written count: a byte store cannot spell 0x5555.
    const v = width === 4 ? value >>> 0 : value & (width === 2 ? 0xffff : 0xff);
    const status = v & 0xffff;
    if (status === FINISHER_PASS) this.power.exit(0);
    else if (status === FINISHER_FAIL) this.power.exit(v >>> 16);
    else if (status === FINISHER_RESET) this.power.reset();
  }
}
