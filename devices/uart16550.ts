/**
 * UART 16550A, as QEMU's `virt` machine presents it to a guest (byte registers,
 * no register shift, PLIC source 10).
 *
 * Follows the National/TI PC16550D datasheet ("PC16550D Universal Asynchronous
 * Receiver/Transmitter with FIFOs", §8 registers, Table IV interrupt priorities)
 * and QEMU's observable behaviour where the datasheet leaves room:
 *
 * - Transmission is instantaneous: a THR write reaches the console at once, so LSR
 *   THRE/TEMT always read 1 and the THR-empty interrupt re-arms right after a write.
 * - The THR-empty interrupt is cleared by reading IIR while it is the reported
 *   source, or by writing THR (datasheet Table IV); enabling ETBEI re-arms it.
 * - Received bytes wait in a host-side queue and move into the receive FIFO (16 bytes
 *   with FCR.FE set, otherwise the single holding register) as space frees, so input
 *   is never lost and there are no overruns from the host. Bytes move only once the
 *   guest listens — it has enabled the receive interrupt or read LSR or RBR — so input
 *   queued before boot is not thrown away by the driver's initial FIFO reset.
 * - The character-timeout interrupt is deterministic: while the FIFO holds fewer bytes
 *   than its trigger level it is reported at once (IIR 0xC, "timeout") instead of
 *   after four character times of wall-clock time.
 * - Loopback (MCR bit 4) feeds transmitted bytes back into the receiver and mirrors
 *   the modem-control outputs onto MSR, as the datasheet describes; host input is
 *   held back while loopback is on. A loopback byte that finds the FIFO full sets
 *   LSR.OE, the only line-status error this model can produce.
 */

import type { ConsolePort, IrqLine, MmioDevice, Width } from "./device.ts";
import { UART_SIZE } from "./virt_map.ts";

// Register offsets (datasheet Table II).
const REG_RBR_THR = 0; // DLL when LCR.DLAB
const REG_IER = 1; // DLM when LCR.DLAB
const REG_IIR_FCR = 2;
const REG_LCR = 3;
const REG_MCR = 4;
const REG_LSR = 5;
const REG_MSR = 6;
const REG_SCR = 7;

const IER_ERBFI = 0x01; // received data available
const IER_ETBEI = 0x02; // transmitter holding register empty
const IER_ELSI = 0x04; // receiver line status
const IER_EDSSI = 0x08; // modem status

const IIR_NO_INT = 0x01;
const IIR_MSI = 0x00;
const IIR_THRI = 0x02;
const IIR_RDI = 0x04;
const IIR_RLSI = 0x06;
const IIR_CTI = 0x0c;
const IIR_FIFO_ON = 0xc0;

const FCR_FE = 0x01;
const FCR_RFR = 0x02;
const FCR_XFR = 0x04;
/** FCR bits that read back through IIR/keep meaning: FE, DMA mode, trigger level. */
const FCR_KEEP = 0xc9;

const LCR_DLAB = 0x80;

const MCR_DTR = 0x01;
const MCR_RTS = 0x02;
const MCR_OUT1 = 0x04;
const MCR_OUT2 = 0x08;
const MCR_LOOP = 0x10;

const LSR_DR = 0x01;
const LSR_OE = 0x02;
const LSR_BI = 0x10;
const LSR_THRE = 0x20;
const LSR_TEMT = 0x40;
const LSR_ERRORS = 0x1e; // OE | PE | FE | BI

const MSR_DCTS = 0x01;
const MSR_DDSR = 0x02;
const MSR_TERI = 0x04;
const MSR_DDCD = 0x08;
const MSR_CTS = 0x10;
const MSR_DSR = 0x20;
const MSR_RI = 0x40;
const MSR_DCD = 0x80;
const MSR_DELTAS = 0x0f;
/** A console with no modem: carrier, data set ready and clear to send held high (as QEMU). */
const MSR_IDLE = MSR_DCD | MSR_DSR | MSR_CTS;

const FIFO_SIZE = 16;
/** Receive trigger levels selected by FCR bits 7:6. */
const TRIGGER_LEVELS = [1, 4, 8, 14];

/** Compact the host queue once this many consumed entries sit at its head. */
const HOST_COMPACT = 4096;

/** A 16550A UART with its interrupt wired to an {@link IrqLine}. */
export class Uart16550 implements MmioDevice {
  /** Short name for traces and errors. */
  readonly name: string;
  /** Physical base address. */
  readonly base: number;
  /** Size of the MMIO window (the registers repeat nowhere: only offsets 0–7 exist). */
  readonly size: number = UART_SIZE;

  private readonly irq: IrqLine;
  private readonly out: ConsolePort;

  private ier = 0;
  private fcr = 0;
  private lcr = 0;
  private mcr = MCR_OUT2;
  private msr = MSR_IDLE;
  private scr = 0;
  private dll = 0x0c;
  private dlm = 0;
  /** Sticky LSR error bits (only OE, from loopback); cleared by reading LSR. */
  private lsrErrors = 0;
  /** THR-empty interrupt armed: set when THR empties, cleared by IIR read or THR write. */
  private thrPending = false;
  private irqLevel = false;

  /** Receive FIFO (also the holding register when FIFOs are off: capacity 1). */
  private readonly fifo = new Uint8Array(FIFO_SIZE);
  private fifoHead = 0;
  private fifoCount = 0;
  private trigger = 1;
  /** Last byte read from RBR in non-FIFO mode; RBR keeps it after DR clears. */
  private lastRbr = 0;

  /** Host input not yet in the FIFO. */
  private host: number[] = [];
  private hostHead = 0;

  /**
   * Creates a UART with its registers at reset values.
   *
   * @param base physical base address (normally `UART_BASE`)
   * @param irq the PLIC source this UART drives (normally source `UART_IRQ`)
   * @param out where transmitted bytes go
   * @param name short name for traces
   */
  constructor(base: number, irq: IrqLine, out: ConsolePort, name = "uart0") {
    this.base = base;
    this.irq = irq;
    this.out = out;
    this.name = name;
  }

  /** Queues bytes typed on the host console; the guest reads them through RBR. */
  receive(bytes: Uint8Array | number[]): void {
    for (let i = 0; i < bytes.length; i++) this.host.push(bytes[i] & 0xff);
    this.fillFifo();
    this.updateIrq();
  }

  /** True while received bytes wait for the guest (in the FIFO or the host queue). */
  hasPendingInput(): boolean {
    return this.fifoCount > 0 || this.hostHead < this.host.length;
  }

  /** Reads one register. Wider accesses read the register at `offset` (zero-extended). */
  read(offset: number, _width: Width): number {
    switch (offset) {
      case REG_RBR_THR:
        return (this.lcr & LCR_DLAB) ? this.dll : this.readRbr();
      case REG_IER:
        return (this.lcr & LCR_DLAB) ? this.dlm : this.ier;
      case REG_IIR_FCR:
        return this.readIir();
      case REG_LCR:
        return this.lcr;
      case REG_MCR:
        return this.mcr;
      case REG_LSR: {
        this.listen();
        const v = this.lsr();
        if (this.lsrErrors) {
          // Error bits are cleared by the read that reports them (datasheet §8.6.3).
          this.lsrErrors = 0;
          this.updateIrq();
        }
        return v;
      }
      case REG_MSR: {
        const v = this.msr;
        if (v & MSR_DELTAS) {
          this.msr &= ~MSR_DELTAS;
          this.updateIrq();
        }
        return v;
      }
      case REG_SCR:
        return this.scr;
      default:
        return 0;
    }
  }

  /** Writes one register from the low byte of `value`. */
  write(offset: number, _width: Width, value: number): void {
    const v = value & 0xff;
    switch (offset) {
      case REG_RBR_THR:
        if (this.lcr & LCR_DLAB) this.dll = v;
        else this.writeThr(v);
        return;
      case REG_IER:
        if (this.lcr & LCR_DLAB) this.dlm = v;
        else this.writeIer(v);
        return;
      case REG_IIR_FCR:
        this.writeFcr(v);
        return;
      case REG_LCR:
        this.lcr = v;
        return;
      case REG_MCR:
        this.writeMcr(v & 0x1f);
        return;
      case REG_SCR:
        this.scr = v;
        return;
      default:
        // LSR and MSR are read-only (writes are for factory test only); beyond 7 nothing.
        return;
    }
  }

  /** The line status register's value. */
  private lsr(): number {
    return (this.fifoCount > 0 ? LSR_DR : 0) | this.lsrErrors | LSR_THRE | LSR_TEMT;
  }

  /** Reads the receive buffer (or FIFO head). */
  private readRbr(): number {
    this.listen();
    let v: number;
    if (this.fifoCount > 0) {
      v = this.fifo[this.fifoHead];
      this.fifoHead = (this.fifoHead + 1) % FIFO_SIZE;
      this.fifoCount--;
      this.lastRbr = v;
    } else {
      // An empty FIFO reads 0; without FIFOs the holding register keeps its last byte.
      v = (this.fcr & FCR_FE) ? 0 : this.lastRbr;
    }
    this.lsrErrors &= ~LSR_BI;
    this.fillFifo();
    this.updateIrq();
    return v;
  }

  /** Reads IIR; reporting THR-empty acknowledges it. */
  private readIir(): number {
    const id = this.interruptId();
    if (id === IIR_THRI) {
      // Reading IIR while it reports THR empty acknowledges that interrupt (Table IV).
      this.thrPending = false;
      this.updateIrq();
    }
    return id | ((this.fcr & FCR_FE) ? IIR_FIFO_ON : 0);
  }

  /** Transmits a byte (instantly) or loops it back. */
  private writeThr(v: number): void {
    if (this.mcr & MCR_LOOP) {
      this.pushFifo(v);
    } else {
      this.out.put(v);
    }
    // The byte left at once, so THR is empty again and the interrupt re-arms.
    this.thrPending = true;
    this.updateIrq();
  }

  /** Writes the interrupt enables. */
  private writeIer(v: number): void {
    const changed = (this.ier ^ v) & 0x0f;
    this.ier = v & 0x0f;
    // Enabling ETBEI with THR empty raises the interrupt even if an IIR read had
    // acknowledged it; drivers rely on toggling IER to kick transmission.
    if (changed & IER_ETBEI) this.thrPending = (this.ier & IER_ETBEI) !== 0;
    if (this.ier & IER_ERBFI) this.listen();
    this.updateIrq();
  }

  /** Writes the FIFO control register (enable, resets, trigger level). */
  private writeFcr(v: number): void {
    let cmd = v;
    // Changing the FIFO enable clears both FIFOs (datasheet §8.4, FCR bit 0).
    if ((cmd ^ this.fcr) & FCR_FE) cmd |= FCR_RFR | FCR_XFR;
    this.fcr = cmd & FCR_KEEP;
    this.trigger = (this.fcr & FCR_FE) ? TRIGGER_LEVELS[this.fcr >> 6] : 1;
    if (cmd & FCR_RFR) {
      this.fifoHead = 0;
      this.fifoCount = 0;
      this.lsrErrors &= ~LSR_BI;
    }
    if (cmd & FCR_XFR) this.thrPending = true;
    this.fillFifo();
    this.updateIrq();
  }

  /** Writes the modem control register (loopback and outputs). */
  private writeMcr(v: number): void {
    const wasLoop = (this.mcr & MCR_LOOP) !== 0;
    this.mcr = v;
    const loop = (v & MCR_LOOP) !== 0;
    const status = loop ? loopbackStatus(v) : MSR_IDLE;
    const old = this.msr;
    let deltas = old & MSR_DELTAS;
    const diff = old ^ status;
    if (diff & MSR_CTS) deltas |= MSR_DCTS;
    if (diff & MSR_DSR) deltas |= MSR_DDSR;
    if (diff & MSR_DCD) deltas |= MSR_DDCD;
    if ((old & MSR_RI) && !(status & MSR_RI)) deltas |= MSR_TERI; // trailing edge only
    this.msr = status | deltas;
    if (wasLoop && !loop) this.fillFifo(); // host input was held back during loopback
    this.updateIrq();
  }

  /** Receiver capacity: the FIFO with FCR.FE, else the one-byte holding register. */
  private capacity(): number {
    return (this.fcr & FCR_FE) ? FIFO_SIZE : 1;
  }

  /** Appends a received byte to the FIFO. */
  private pushFifo(v: number): void {
    if (this.fifoCount >= this.capacity()) {
      this.lsrErrors |= LSR_OE;
      return;
    }
    this.fifo[(this.fifoHead + this.fifoCount) % FIFO_SIZE] = v;
    this.fifoCount++;
  }

  /** The guest has shown it reads input: start moving host bytes into the receiver. */
  private listen(): void {
    if (this.listening) return;
    this.listening = true;
    this.fillFifo();
    this.updateIrq();
  }

  private listening = false;

  /** Moves host input into the receiver while there is room (never while in loopback). */
  private fillFifo(): void {
    if ((this.mcr & MCR_LOOP) || !this.listening) return;
    const cap = this.capacity();
    while (this.fifoCount < cap && this.hostHead < this.host.length) {
      this.pushFifo(this.host[this.hostHead++]);
    }
    if (this.hostHead === this.host.length) {
      this.host.length = 0;
      this.hostHead = 0;
    } else if (this.hostHead >= HOST_COMPACT) {
      this.host = this.host.slice(this.hostHead);
      this.hostHead = 0;
    }
  }

  /** The highest-priority pending, enabled interrupt (datasheet Table IV order). */
  private interruptId(): number {
    const ier = this.ier;
    if ((ier & IER_ELSI) && (this.lsrErrors & LSR_ERRORS)) return IIR_RLSI;
    if ((ier & IER_ERBFI) && this.fifoCount > 0) {
      return this.fifoCount >= this.trigger ? IIR_RDI : IIR_CTI;
    }
    if ((ier & IER_ETBEI) && this.thrPending) return IIR_THRI;
    if ((ier & IER_EDSSI) && (this.msr & MSR_DELTAS)) return IIR_MSI;
    return IIR_NO_INT;
  }

  /** Drives the interrupt line from the highest pending enabled source. */
  private updateIrq(): void {
    const level = this.interruptId() !== IIR_NO_INT;
    // Driven on every update, as QEMU's devices do: with the PLIC's gateway a new
    // event while the line is already high must still make a new request.
    this.irqLevel = level;
    this.irq.set(level);
  }
}

/** MSR status bits in loopback: the modem-control outputs wired back (datasheet §8.7). */
function loopbackStatus(mcr: number): number {
  return ((mcr & MCR_RTS) ? MSR_CTS : 0) | ((mcr & MCR_DTR) ? MSR_DSR : 0) |
    ((mcr & MCR_OUT1) ? MSR_RI : 0) | ((mcr & MCR_OUT2) ? MSR_DCD : 0);
}
