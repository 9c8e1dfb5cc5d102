/**
 * The builder of hardware-assisted (`hw`) domains (DESIGN §3, §4, §7): an unmodified
 * S-mode kernel gets the QEMU `virt` board — its own UART, CLINT, PLIC, test finisher and
 * virtio slots, whose models Dom0 runs — over guest-physical RAM made of the domain's
 * machine frames, and SBI served by the hypervisor. The guest runs with V=1: its S-level
 * CSRs are its own and need no exit; it leaves only for SBI calls, device accesses
 * (stage-2 faults on MMIO), wfi and interrupt injection.
 *
 * Real hardware cannot run an M-mode image under V=1, and neither can `hw`: an image whose
 * code touches M-mode CSRs or uses `mret` is refused with the first such instruction named.
 *
 * The same board serves `trap` and `bt` domains, whose guests run deprivileged under the
 * software VMM (`vmm/software_vmm.ts`) with shadow tables in frames after their RAM; there an
 * M-mode image boots in virtual M-mode and an S-mode kernel in virtual S-mode with SBI.
 */

import { Machine } from "../vmm/machine.ts";
import { isElf, parseElf } from "../vmm/elf.ts";
import { UserError } from "../vmm/errors.ts";
import { CSR_NAMES } from "../vmm/names.ts";
import type { Domain, HvmMode } from "../kernel/domain.ts";
import type { KernelView } from "../kernel/service.ts";
import type { BlockBackend } from "../devices/device.ts";
import type { HwPaging } from "../vmm/hw_shadow.ts";

/** Shadow page-table pages of a `trap` or `bt` domain, or `hw` with shadow paging (1 MiB). */
export const SHADOW_PAGES = 256;

/**
 * Frames a domain needs past its RAM for shadow page tables: under `trap` and `bt`, and
 * under `hw` with shadow paging, the VMM keeps them there.
 */
export function shadowPagesOf(technique: HvmMode, paging: HwPaging): number {
  return technique !== "hw" || paging === "shadow" ? SHADOW_PAGES : 0;
}

/** Options of one build. */
export interface HvmOptions {
  /** Technique: hardware assistance (the default), trap-and-emulate or binary translation. */
  technique?: HvmMode;
  /** Image name for messages. */
  name: string;
  /** Guest RAM in bytes. */
  memory: number;
  /** Kernel command line (/chosen/bootargs). */
  cmdline: string;
  /** Where the guest's console bytes go. */
  console: (byte: number) => void;
  /** Disk behind the virtio block device in slot 0 (legacy transport, as xv6 expects). */
  disk?: BlockBackend;
  /** hw only: two-stage translation, or shadow tables as on a 2006 CPU (default: the kernel's). */
  paging?: HwPaging;
}

/**
 * The first M-mode instruction in the executable segments of `image` (a CSR access to an
 * M-level CSR, or `mret`), as text with its address; null if there is none.
 */
export function firstMachineModeInstruction(image: Uint8Array, name: string): string | null {
  if (!isElf(image)) {
    // A raw binary: nothing tells code from data, so all of it is looked at.
    return scan([{ addr: 0x8000_0000, bytes: image }]);
  }
  const elf = parseElf(image, name);
  // Instructions only: the executable sections, or (without section headers) the
  // executable segments, which may also hold read-only data.
  return scan(
    elf.code.length > 0 ? elf.code : elf.segments.filter((s) => (s.flags & 1) !== 0).map((s) => ({
      addr: s.vaddr,
      bytes: s.data,
    })),
  );
}

/** The first M-mode instruction in `regions`, or null. */
function scan(regions: { addr: number; bytes: Uint8Array }[]): string | null {
  for (const s of regions) {
    const b = s.bytes;
    for (let i = 0; i + 1 < b.length;) {
      const lo = b[i] | (b[i + 1] << 8);
      if ((lo & 3) !== 3) {
        i += 2;
        continue;
      }
      if (i + 3 >= b.length) break;
      const w = (lo | (b[i + 2] << 16) | (b[i + 3] << 24)) >>> 0;
      const at = `0x${(s.addr + i).toString(16)}`;
      if (w === 0x30200073) return `mret at ${at}`;
      const f3 = (w >>> 12) & 7;
      if ((w & 0x7f) === 0x73 && f3 !== 0 && f3 !== 4) {
        const csr = w >>> 20;
        if (((csr >>> 8) & 3) === 3) {
          return `an access to ${CSR_NAMES.get(csr) ?? `CSR 0x${csr.toString(16)}`} at ${at}`;
        }
      }
      i += 4;
    }
  }
  return null;
}

/** Builds hardware-assisted domain `d` from `image`; throws UserError when it cannot. */
export function buildHvm(k: KernelView, d: Domain, image: Uint8Array, o: HvmOptions): Machine {
  const technique = o.technique ?? "hw";
  const m = firstMachineModeInstruction(image, o.name);
  if (m !== null && technique === "hw") {
    throw new UserError(
      `${o.name} is an M-mode image (${m}); hw runs S-mode kernels under SBI, as hardware ` +
        `virtualization does`,
    );
  }
  if (o.memory % 4096 !== 0 || o.memory < 64 * 1024) {
    throw new UserError(`${o.name}: memory must be whole 4 KiB pages, at least 64 KiB`);
  }
  const paging = o.paging ?? k.hwPaging;
  const shadowPages = shadowPagesOf(technique, paging);
  const pages = o.memory / 4096 + shadowPages;
  d.maxPages = Math.max(d.maxPages, pages);
  const first = k.allocContiguous(d, pages);
  if (first < 0) {
    throw new UserError(`${o.name}: no ${o.memory >> 10} KiB of contiguous machine memory left`);
  }
  const machine = new Machine({
    image,
    imageName: o.name,
    ramSize: o.memory,
    ramBacking: { buffer: k.bus.ram, byteOffset: (first - k.frames.base) * 4096 },
    bootargs: o.cmdline,
    disk: o.disk,
    virtioVersion: 1,
    console: { put: o.console },
    engine: k.engine,
    trace: k.trace ?? undefined,
    // Under trap and bt an image with M-mode code boots in virtual M-mode, as on the bare
    // board; an S-mode kernel boots in virtual S-mode with SBI, as under hw.
    sbi: m === null,
    technique: technique === "hw" ? undefined : technique,
    hwPaging: technique === "hw" ? paging : undefined,
    shadowPages,
    hosted: k.hostedHooks(d),
  });
  k.attachMachine(d, machine, technique);
  return machine;
}
