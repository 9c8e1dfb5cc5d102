/**
 * belowzero — a microkernel hypervisor simulator for RISC-V guests.
 *
 * Imported, this module is the public API: build a machine from a guest image, run
 * it, and inspect the hart, its statistics and its devices; assemble and disassemble
 * RV32 code; read ELF images and device trees. Run directly (`deno task run`), it is
 * the command line.
 *
 * @example
 * ```ts
 * import { assemble, Machine } from "./mod.ts";
 * const prog = assemble(`
 *   li t0, 0x100000
 *   li t1, 0x5555
 *   sw t1, 0(t0)      # SiFive test finisher: pass
 * `);
 * const m = new Machine({ image: prog.bytes, console: { put() {} } });
 * console.log(m.runFor()); // { kind: "exit", code: 0 }
 * ```
 *
 * @module
 */

export { CORE_HZ, CYCLES_PER_TICK, Machine } from "./vmm/machine.ts";
export type { Engine, ExitKind, HostedHooks, MachineOptions, Outcome } from "./vmm/machine.ts";
export { SoftwareVmm } from "./vmm/software_vmm.ts";
export type {
  CalloutKind,
  ShadowVmmOptions,
  SoftTechnique,
  SoftwareVmmOptions,
  VmmExitKind,
  VmmReport,
  VmmStats,
} from "./vmm/software_vmm.ts";
export { HwShadowVmm } from "./vmm/hw_shadow.ts";
export type { HwPaging, HwShadowOptions } from "./vmm/hw_shadow.ts";
export { GuestWalk, SHADOW_SLOTS, ShadowPager } from "./vmm/shadow.ts";
export { ACC_FETCH, ACC_LOAD, ACC_STORE } from "./vmm/mmu.ts";
export type { Access } from "./vmm/mmu.ts";
export type { ShadowStats } from "./vmm/shadow.ts";
export { Block, TranslationCache } from "./vmm/translator.ts";
export type { JitStats } from "./vmm/translator.ts";
export { Hart } from "./vmm/hart.ts";
export type { HartHost } from "./vmm/hart.ts";
export { Bus } from "./vmm/bus.ts";
export type { CodeWriteListener } from "./vmm/bus.ts";
export { CAUSE, IRQ, MSTATUS, PRV_M, PRV_S, PRV_U } from "./vmm/priv.ts";
export { assemble } from "./vmm/assembler.ts";
export type { Program } from "./vmm/assembler.ts";
export { disassemble } from "./vmm/disasm.ts";
export { INSNS } from "./vmm/insns.ts";
export type { Emitter, Format, InsnDef, Semantics, SizeLog2 } from "./vmm/insns.ts";
export { parseElf } from "./vmm/elf.ts";
export type { ElfImage, ElfNote, ElfSegment } from "./vmm/elf.ts";
export { buildVirtFdt, DeviceTree, FdtNode, parseFdt } from "./devices/fdt.ts";
export type { FdtProperty, FdtReservation, VirtFdtOptions } from "./devices/fdt.ts";
export { MemoryDisk, openRawDisk } from "./devices/raw_disk.ts";
export type { RawDisk, RawDiskOptions } from "./devices/raw_disk.ts";
export { Clint } from "./devices/clint.ts";
export { Plic } from "./devices/plic.ts";
export { Uart16550 } from "./devices/uart16550.ts";
export { TestFinisher } from "./devices/test_finisher.ts";
export { Htif } from "./devices/htif.ts";
export { DescChain, NO_DEVICE, VirtioMmio, Virtqueue } from "./devices/virtio_mmio.ts";
export type { VirtioDevice, VirtioMmioOptions } from "./devices/virtio_mmio.ts";
export { VirtioBlk } from "./devices/virtio_blk.ts";
export type { BlkStats, VirtioBlkOptions } from "./devices/virtio_blk.ts";
export { UserError } from "./vmm/errors.ts";
export { ENGINE_EVENTS, EV, EVENTS, parseEvents, Trace } from "./kernel/trace.ts";
export type { EventName, TraceFilter, TraceRecord } from "./kernel/trace.ts";
export type {
  BlockBackend,
  ConsolePort,
  DmaMemory,
  HartPins,
  IrqLine,
  MmioDevice,
  PowerControl,
  StoreWatcher,
  TimeSource,
  Width,
} from "./devices/device.ts";

export { CALLOUT_CODES, EXIT_CODES, Hypervisor, NS_PER_CYCLE, Pcpu } from "./kernel/hypervisor.ts";
export type { HypervisorOptions, SystemOutcome } from "./kernel/hypervisor.ts";
export { Domain, DomainStats, DOMSTATE, HVM_MODES, isHvmMode, Vcpu } from "./kernel/domain.ts";
export type { DomainMode, DomainState, HvmMode } from "./kernel/domain.ts";
export { FrameTable, FREE, PGT, PGT_NAMES } from "./kernel/frames.ts";
export { EventChannels } from "./kernel/events.ts";
export { CreditScheduler, PRIO, PRIO_NAMES } from "./kernel/scheduler.ts";
export type { ControlService, KernelView } from "./kernel/service.ts";
export {
  COST_KINDS,
  costProfile,
  DEFAULT_PROFILE,
  profileHost,
  profileHwPaging,
  profileNames,
} from "./kernel/costs.ts";
export type { CostKind, CostProfile, HostActivity } from "./kernel/costs.ts";
export { formatSummary, summarize } from "./kernel/summary.ts";
export type { DomainSummary, SystemSummary } from "./kernel/summary.ts";
/** The paravirtual ABI: hypercall numbers, errno values and shared structure layouts. */
export * as abi from "./kernel/abi.ts";
export { abiHeader } from "./kernel/abi_header.ts";
export { SBI_ERR, SBI_EXT, SBI_IMPL_ID, SBI_SPEC_VERSION, SbiFirmware } from "./kernel/sbi.ts";
export type { SbiPlatform, SbiStats } from "./kernel/sbi.ts";
export { Dom0 } from "./dom0/dom0.ts";
export { Toolstack } from "./dom0/toolstack.ts";
export type { DomainConfig } from "./dom0/toolstack.ts";
export { PageRules } from "./dom0/page_rules.ts";
export { buildHvm, firstMachineModeInstruction } from "./dom0/hvm_builder.ts";
export type { HvmOptions } from "./dom0/hvm_builder.ts";
export { buildPv, pvNote } from "./dom0/builder.ts";
export type { BuildOptions, BuiltDomain } from "./dom0/builder.ts";
export { ConsoleBackend } from "./dom0/console.ts";
export type { LineSink } from "./dom0/console.ts";

if (import.meta.main) {
  const { main } = await import("./cli/main.ts");
  Deno.exit(await main(Deno.args));
}
