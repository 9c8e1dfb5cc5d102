/**
 * The QEMU `virt` board with one hart and no hypervisor (DESIGN §3, `bare` in §4):
 * RAM, CLINT, PLIC, UART 16550, SiFive test finisher, HTIF when the image has `tohost`,
 * and an optional virtio-mmio block device in slot 0. It loads an image, places the
 * device tree, and services the hart's events: timer deadlines, interrupts, WFI, the
 * instruction budget and power-off.
 *
 * Time is virtual: the core runs at `CORE_HZ` (one cycle per retired instruction plus
 * modelled overheads), and `mtime` advances at 10 MHz from those cycles (DESIGN §1.2).
 */

import { Bus } from "./bus.ts";
import { Hart, type HartHost, PRV_M, PRV_S, STOP } from "./hart.ts";
import { buildInterpreter, type RunFn } from "./interpreter.ts";
import { buildJit } from "./jit.ts";
import { TranslationCache } from "./translator.ts";
import { isElf, parseElf } from "./elf.ts";
import { UserError } from "./errors.ts";
import { Clint } from "../devices/clint.ts";
import { Plic } from "../devices/plic.ts";
import { Uart16550 } from "../devices/uart16550.ts";
import { TestFinisher } from "../devices/test_finisher.ts";
import { Htif } from "../devices/htif.ts";
import { NO_DEVICE, VirtioMmio } from "../devices/virtio_mmio.ts";
import { VirtioBlk } from "../devices/virtio_blk.ts";
import { buildVirtFdt } from "../devices/fdt.ts";
import type { BlockBackend, ConsolePort } from "../devices/device.ts";
import { EV, type Trace } from "../kernel/trace.ts";
import * as map from "../devices/virt_map.ts";
import { SbiFirmware } from "../kernel/sbi.ts";
import { CAUSE, IRQ } from "./priv.ts";
import {
  type CalloutKind,
  type SoftTechnique,
  SoftwareVmm,
  type VmmExitKind,
} from "./software_vmm.ts";
import { type HwPaging, HwShadowVmm } from "./hw_shadow.ts";

/** Virtual core clock: 100 MHz, so 10 cycles per 10 MHz mtime tick. */
export const CORE_HZ = 100_000_000;
/** Core cycles per mtime tick. */
export const CYCLES_PER_TICK = CORE_HZ / map.TIMEBASE_HZ;

/** The ISA string the device tree advertises. */
export const ISA_STRING = "rv32imac_zicsr_zifencei";

/** How to build a machine. */
export interface MachineOptions {
  /** The guest image: ELF32 RISC-V executable, or a raw binary loaded at RAM base. */
  image: Uint8Array;
  /** Name of the image for messages. */
  imageName?: string;
  /** RAM size in bytes (a multiple of 4 KiB); default 128 MiB. */
  ramSize?: number;
  /** Backing store of the virtio block device in slot 0. */
  disk?: BlockBackend;
  /** Virtio transport: 1 = legacy, 2 = modern (default). */
  virtioVersion?: 1 | 2;
  /** Kernel command line for /chosen/bootargs. */
  bootargs?: string;
  /** Where console output goes. */
  console: ConsolePort;
  /** Stop after this many executed instructions (retired, or trapped). */
  maxInsns?: number;
  /** Execution engine: the translation cache (default) or the reference interpreter. */
  engine?: Engine;
  /** Blocks the translation cache keeps before it is emptied (default 8192). */
  jitMaxBlocks?: number;
  /**
   * Entries of a block before the translation cache translates it (default 8); until
   * then it runs one instruction at a time. 1 translates every block on its first entry.
   */
  jitHotThreshold?: number;
  /** Records events here (DESIGN §10). */
  trace?: Trace;
  /**
   * Serve SBI from root mode (DESIGN §7), as OpenSBI would: the image starts in S-mode
   * and its `ecall`s reach belowzero's SBI firmware (kernel/sbi.ts).
   */
  sbi?: boolean;
  /** RAM lives in this region of an existing buffer (a domain's frames of machine memory). */
  ramBacking?: { buffer: ArrayBuffer; byteOffset: number };
  /** The machine is a domain under a hypervisor (`hw`, or `trap`/`bt` with `technique`). */
  hosted?: HostedHooks;
  /**
   * Run the guest deprivileged under a software VMM (DESIGN §4): `trap` (trap-and-emulate)
   * or `bt` (binary translation). It starts in virtual M-mode, or in virtual S-mode with `sbi`.
   */
  technique?: SoftTechnique;
  /** Pages of shadow page tables past the guest's RAM (default 256: 1 MiB). */
  shadowPages?: number;
  /**
   * How a hosted `hw` guest's memory is virtualized: by the hart's second stage (`nested`,
   * the default) or, as on VT-x before 2008, by shadow page tables (`shadow`; needs `sbi`).
   */
  hwPaging?: HwPaging;
}

/** Why a hosted machine's guest left it (DESIGN §4): `hw` exits and software-VMM traps. */
export type ExitKind = "sbi" | "wfi" | "irq" | VmmExitKind;
export type { CalloutKind };

/** How a hypervisor drives a hosted machine. */
export interface HostedHooks {
  /**
   * The guest exited for `kind` (the hypervisor counts and charges it). `addr` is the
   * guest-physical address of a device access (`mmio`), a table store (`ptwrite`) or an
   * address with nothing behind it (`fault`); the faulting virtual address for `shadow`
   * and `reflect`; else the pc.
   */
  exit(kind: ExitKind, addr: number): void;
  /** Translated kernel code called its VMM directly (`bt`). */
  callout(kind: CalloutKind, addr: number): void;
  /** Whether the hypervisor wants the pCPU back now (checked at every event point). */
  shouldYield(): boolean;
  /** Instructions left in the hypervisor's budget (the next event point comes no later). */
  insnsLeft(): number;
}

/** The execution engines. */
export type Engine = "interp" | "jit";

/** How a run ended. */
export type Outcome =
  | { kind: "exit"; code: number }
  | { kind: "reset" }
  | { kind: "budget" }
  | { kind: "halt"; reason: string }
  | { kind: "yield" };

let sharedInterpreter: RunFn | undefined;

/** One virt machine with one hart. */
export class Machine implements HartHost {
  /** The physical address space. */
  readonly bus: Bus;
  /** Hart 0. */
  readonly hart: Hart;
  /** Core-local interruptor. */
  readonly clint: Clint;
  /** Platform-level interrupt controller. */
  readonly plic: Plic;
  /** The console UART. */
  readonly uart: Uart16550;
  /** HTIF, if the image defines `tohost`. */
  readonly htif?: Htif;
  /** The virtio-mmio transport of the disk, if any. */
  readonly virtio?: VirtioMmio;
  /** Entry point. */
  readonly entry: number;
  /** Guest-physical address of the device tree. */
  readonly fdtAddr: number;
  /** The translation cache, when the engine is `jit`. */
  readonly jit?: TranslationCache;
  /** The engine in use. */
  readonly engine: Engine;
  /** Whether more console input may still arrive from the host. */
  inputOpen = false;
  /** The VMM that keeps shadow tables: under `trap` or `bt`, or `hw` with shadow paging. */
  readonly vmm?: SoftwareVmm | HwShadowVmm;
  /**
   * The hart whose privilege level and CSRs the guest sees: under `trap` and `bt` the
   * software VMM's virtual hart, otherwise the hart itself.
   */
  get guestHart(): Hart {
    return this.vmm instanceof SoftwareVmm ? this.vmm.vh : this.hart;
  }
  /** Guest RAM in bytes (the bus has more under a software VMM: its shadow tables). */
  readonly ramSize: number;
  /** The SBI firmware, when the machine serves SBI. */
  readonly sbi?: SbiFirmware;
  /**
   * Hosted only: set when the guest waits in `wfi` with nothing pending — the cycle its next
   * timer deadline falls on (Infinity: none) — and the run yields so the hypervisor can
   * block the vCPU until then.
   */
  waitUntil: number | null = null;
  private readonly hosted?: HostedHooks;
  /** SBI timer deadline in mtime ticks (Infinity: none). */
  private sbiTimer = Infinity;
  /** Console input waiting for SBI getchar, and the next byte to hand out. */
  private sbiInput: Uint8Array = new Uint8Array(0);
  private sbiInputAt = 0;

  private outcome: Outcome | null = null;
  private readonly maxInsns: number;
  private sliceEnd = Infinity;
  private readonly run: RunFn;

  /** Builds the board and loads the image; throws UserError for a bad image or option. */
  constructor(opts: MachineOptions) {
    const ramSize = opts.ramSize ?? map.RAM_DEFAULT_SIZE;
    if (!Number.isInteger(ramSize) || ramSize < 64 * 1024 || ramSize % 4096 !== 0) {
      throw new UserError(`memory size ${ramSize} must be a whole number of 4 KiB pages, ≥ 64 KiB`);
    }
    if (ramSize > 0x7000_0000) throw new UserError("memory size is limited to 1792 MiB");
    this.maxInsns = opts.maxInsns ?? Infinity;
    const shadowHw = !opts.technique && opts.hwPaging === "shadow";
    if (shadowHw && !(opts.sbi && opts.hosted)) {
      throw new UserError("hw with shadow paging runs hosted S-mode kernels under SBI");
    }
    const shadowed = opts.technique !== undefined || shadowHw;
    const pool = shadowed ? (opts.shadowPages ?? 256) : 0;
    // One instruction may need a root table and four leaf tables at once (a fetch and a
    // data access, each straddling 4 MiB regions); fewer could never make progress.
    if (shadowed && !(Number.isInteger(pool) && pool >= 5)) {
      throw new UserError(`shadow tables need at least 5 pages, not ${pool}`);
    }
    this.ramSize = ramSize;
    this.bus = new Bus(map.RAM_BASE, ramSize + pool * 4096, opts.ramBacking);
    this.bus.guestSize = ramSize; // the shadow pool past it is the VMM's own
    this.hosted = opts.hosted;
    this.hart = new Hart(this.bus, 0, this);
    const hart = this.hart;
    const trace = opts.trace ?? null;
    hart.trace = trace;
    const consolePort: ConsolePort = trace
      ? {
        put: (b) => {
          trace.record(hart.now, hart.pcpu, hart.dom, hart.vcpu, EV.console, b);
          opts.console.put(b);
        },
      }
      : opts.console;
    const time = {
      mtime: () => Math.floor(hart.now / CYCLES_PER_TICK),
      reschedule: () => {
        hart.nextEvent = 0;
      },
    };
    const power = {
      exit: (code: number) => this.finish({ kind: "exit", code }),
      reset: () => this.finish({ kind: "reset" }),
    };
    this.clint = new Clint(map.CLINT_BASE, [hart], time);
    this.plic = new Plic(map.PLIC_BASE, [hart]);
    this.uart = new Uart16550(map.UART_BASE, this.plic.source(map.UART_IRQ), consolePort);
    this.bus.attach(new TestFinisher(map.TEST_BASE, power));
    this.bus.attach(this.clint);
    this.bus.attach(this.plic);
    this.bus.attach(this.uart);
    for (let n = 0; n < map.VIRTIO_COUNT; n++) {
      const dev = n === 0 && opts.disk ? new VirtioBlk(opts.disk) : NO_DEVICE;
      const t = new VirtioMmio(
        map.VIRTIO_BASE + n * map.VIRTIO_STRIDE,
        this.plic.source(map.VIRTIO_IRQ + n),
        this.bus,
        dev,
        { version: opts.virtioVersion ?? 2, name: `virtio${n}` },
      );
      this.bus.attach(t);
      if (dev !== NO_DEVICE) this.virtio = t;
    }

    const name = opts.imageName ?? "image";
    const loaded = this.load(opts.image, name);
    this.entry = loaded.entry;
    if (loaded.tohost !== undefined) {
      for (const [sym, at] of [["tohost", loaded.tohost], ["fromhost", loaded.fromhost]] as const) {
        if (at !== undefined && this.bus.ramOffset(at, 8) < 0) {
          throw new UserError(`${name}: its ${sym} symbol (0x${at.toString(16)}) lies outside RAM`);
        }
      }
      this.htif = new Htif(this.bus, loaded.tohost, loaded.fromhost ?? null, consolePort, power);
      const r = this.htif.range();
      this.bus.watch(r.base, r.size, this.htif);
    }

    const fdt = buildVirtFdt({
      ramBase: map.RAM_BASE,
      ramSize,
      harts: 1,
      isa: ISA_STRING,
      bootargs: opts.bootargs ?? "",
      virtioSlots: map.VIRTIO_COUNT,
    }).toBlob();
    // Like QEMU: at the end of RAM, 2 MiB-aligned when there is room.
    const end = map.RAM_BASE + ramSize;
    let at = Math.floor((end - fdt.length) / 0x200000) * 0x200000;
    if (at < loaded.top) at = Math.floor((end - fdt.length) / 8) * 8;
    if (at < loaded.top) throw new UserError(`${name} leaves no room for the device tree in RAM`);
    this.bus.u8.set(fdt, at - map.RAM_BASE);
    this.fdtAddr = at;

    hart.pc = this.entry | 0;
    hart.priv = PRV_M;
    hart.x[10] = 0; // a0: hart id
    hart.x[11] = at | 0; // a1: device tree
    let soft: SoftwareVmm | undefined;
    if (opts.technique) {
      this.vmm = soft = new SoftwareVmm(hart, {
        technique: opts.technique,
        report: this.hosted,
      });
    }
    if (opts.sbi) this.sbi = this.startSbi(soft?.vh ?? hart, consolePort, power);
    if (shadowHw) {
      this.vmm = new HwShadowVmm(hart, { report: this.hosted });
    }
    if (this.hosted) {
      const hosted = this.hosted;
      if (soft) {
        // The VMM reports device accesses itself (exits, or call-outs from bt kernel code),
        // and unbacked accesses when it reflects their access faults.
        hart.onMmio = (pa) => soft.mmio(pa);
      } else {
        hart.onMmio = (pa) => hosted.exit("mmio", pa);
        hart.onUnbacked = (pa) => hosted.exit("fault", pa);
        if (!shadowHw) hart.stage2Refs = 2; // Sv32x4: two levels
      }
    }
    this.vmm?.start();
    hart.updateContext();
    this.engine = opts.engine ?? "jit";
    if (this.engine === "jit") {
      const j = buildJit(hart, new TranslationCache(hart, opts.jitMaxBlocks, opts.jitHotThreshold));
      this.run = j.run;
      this.jit = j.cache;
    } else {
      this.run = sharedInterpreter ??= buildInterpreter();
    }
  }

  /**
   * Sets the hart up as OpenSBI leaves it for the next stage — S-mode at the entry,
   * exceptions and supervisor interrupts delegated, counters and all memory open to S —
   * and serves `ecall` from S as SBI calls in root mode.
   */
  private startSbi(
    h: Hart,
    consolePort: ConsolePort,
    power: { exit(code: number): void; reset(): void },
  ): SbiFirmware {
    const fw = new SbiFirmware({
      mtime: () => this.clint.mtime(),
      setTimer: (at) => {
        this.sbiTimer = at;
        this.hart.setPending(IRQ.STI, false);
        this.hart.nextEvent = 0;
      },
      putchar: (b) => consolePort.put(b),
      getchar: () => this.sbiInputAt < this.sbiInput.length ? this.sbiInput[this.sbiInputAt++] : -1,
      reset: (reset, failure) => (reset ? power.reset() : power.exit(failure ? 1 : 0)),
      harts: 1,
      ipi: () => {
        h.mipSoft |= IRQ.SSI;
        h.nextEvent = 0;
      },
    });
    h.priv = PRV_S;
    h.medeleg = 0xffff & ~(1 << CAUSE.ECALL_S) & ~(1 << CAUSE.ECALL_M);
    h.mideleg = IRQ.SSI | IRQ.STI | IRQ.SEI;
    h.mcounteren = 7;
    h.pmp.openAll();
    h.root = (hart, cause, tval, interrupt) => {
      if (!interrupt && cause === CAUSE.ECALL_S) {
        this.hosted?.exit("sbi", hart.pc);
        return fw.call(hart);
      }
      this.halt(
        `${interrupt ? "interrupt" : "trap"} ${cause} (tval 0x${(tval >>> 0).toString(16)}) at ` +
          `0x${(hart.pc >>> 0).toString(16)} reached M-mode, where only the SBI firmware lives`,
      );
    };
    return fw;
  }

  /** The SBI timer fired: STIP rises (as OpenSBI sets it on its machine timer interrupt). */
  private sbiTimerDue(): void {
    if (this.sbiTimer <= this.clint.mtime()) {
      this.sbiTimer = Infinity;
      this.hart.setPending(IRQ.STI, true);
    }
  }

  /** Copies the image into RAM; returns entry, the end of loaded data and HTIF symbols. */
  private load(
    image: Uint8Array,
    name: string,
  ): { entry: number; top: number; tohost?: number; fromhost?: number } {
    const ramEnd = map.RAM_BASE + this.ramSize;
    const inRam = (a: number, len: number) => a >= map.RAM_BASE && a + len <= ramEnd;
    if (!isElf(image)) {
      if (image.length === 0) throw new UserError(`${name} is empty`);
      if (!inRam(map.RAM_BASE, image.length)) {
        throw new UserError(`${name} (${image.length} bytes) does not fit in RAM`);
      }
      this.bus.u8.set(image, 0);
      return { entry: map.RAM_BASE, top: map.RAM_BASE + image.length };
    }
    const elf = parseElf(image, name);
    let top = map.RAM_BASE;
    for (const s of elf.segments) {
      if (!inRam(s.paddr, s.memsz)) {
        throw new UserError(
          `${name}: segment at 0x${s.paddr.toString(16)} (${s.memsz} bytes) lies outside RAM ` +
            `0x${map.RAM_BASE.toString(16)}–0x${(ramEnd - 1).toString(16)}`,
        );
      }
      const off = s.paddr - map.RAM_BASE;
      this.bus.u8.fill(0, off, off + s.memsz);
      this.bus.u8.set(s.data, off);
      top = Math.max(top, s.paddr + s.memsz);
    }
    return {
      entry: elf.entryPaddr,
      top,
      tohost: elf.symbols.get("tohost"),
      fromhost: elf.symbols.get("fromhost"),
    };
  }

  /** Records how the run ends and makes the engine stop at once. */
  private finish(o: Outcome): void {
    const h = this.hart;
    if (this.outcome === null) {
      this.outcome = o;
      if (o.kind === "exit") h.trace?.record(h.now, h.pcpu, h.dom, h.vcpu, EV.power, o.code);
      if (o.kind === "halt") h.trace?.record(h.now, h.pcpu, h.dom, h.vcpu, EV.halt);
    }
    h.stop = STOP.EXIT;
    h.nextEvent = 0;
    h.exc = 1; // leave the current block right after this access
  }

  /** Stops the run for good (HartHost). */
  halt(reason: string): void {
    this.finish({ kind: "halt", reason });
  }

  /** mtime for the `time` CSR. */
  mtime(_h: Hart): number {
    return this.clint.mtime();
  }

  /** Event service (HartHost): runs between blocks when `now >= nextEvent`. */
  service(h: Hart): void {
    for (;;) {
      if (this.outcome !== null) {
        h.stop = STOP.EXIT;
        return;
      }
      if (h.executed >= this.maxInsns) return this.finish({ kind: "budget" });
      if (h.now >= this.sliceEnd || this.hosted?.shouldYield()) {
        h.stop = STOP.YIELD;
        return;
      }
      this.clint.update();
      if (this.sbi) this.sbiTimerDue();
      if (h.waiting) {
        if ((h.mip & h.mie) !== 0) {
          h.waiting = false;
        } else {
          let d = Math.min(this.clint.nextDeadline(), this.clint.toSource(this.sbiTimer));
          // A deadline already behind us cannot wake anything: only interrupts can.
          if (d * CYCLES_PER_TICK <= h.now) d = Infinity;
          if (this.hosted) {
            // A wfi exit: the hypervisor blocks the vCPU until the deadline.
            this.waitUntil = d === Infinity ? Infinity : d * CYCLES_PER_TICK;
            this.hosted.exit("wfi", h.pc);
            h.stop = STOP.YIELD;
            return;
          }
          if (d === Infinity) {
            if (this.inputOpen) {
              h.stop = STOP.YIELD;
              return;
            }
            return this.finish({
              kind: "halt",
              reason: "the guest waits (wfi) for an interrupt that can never arrive",
            });
          }
          // Sleep: idle cycles pass until the deadline (bounded by the budget and slice).
          const at = Math.min(d * CYCLES_PER_TICK, this.sliceEnd);
          if (at > h.now) {
            h.trace?.record(h.now, h.pcpu, h.dom, h.vcpu, EV.wfi, h.pc, at - h.now);
            h.overhead += at - h.now;
          }
          continue;
        }
      }
      if (this.hosted && h.takeableInterrupts() !== 0) this.hosted.exit("irq", h.pc);
      h.takeInterrupt();
      let next = Math.min(this.clint.nextDeadline(), this.clint.toSource(this.sbiTimer)) *
        CYCLES_PER_TICK;
      if (this.maxInsns !== Infinity) next = Math.min(next, h.now + (this.maxInsns - h.executed));
      if (this.hosted) next = Math.min(next, h.now + Math.max(0, this.hosted.insnsLeft()));
      h.nextEvent = Math.min(next, this.sliceEnd);
      return;
    }
  }

  /**
   * Runs until the guest exits, the budget runs out, or (with `slice`) that many cycles
   * pass — then the outcome is `yield` and the caller may feed input and call again.
   */
  runFor(slice = Infinity): Outcome {
    const h = this.hart;
    this.sliceEnd = h.now + slice;
    h.nextEvent = 0;
    h.stop = STOP.NONE;
    while (this.outcome === null) {
      this.run(h);
      if (h.stop === STOP.YIELD) return { kind: "yield" };
    }
    h.exc = 0; // finish() latched it only to end the running block at once
    return this.outcome;
  }

  /** Feeds host console input to the UART (and HTIF). */
  input(bytes: Uint8Array): void {
    this.uart.receive(bytes);
    if (this.sbi) {
      const rest = this.sbiInput.subarray(this.sbiInputAt);
      const q = new Uint8Array(rest.length + bytes.length);
      q.set(rest);
      q.set(bytes, rest.length);
      this.sbiInput = q;
      this.sbiInputAt = 0;
    }
    this.htif?.receive(bytes);
    this.hart.nextEvent = 0;
  }
}
