/**
 * HTIF (Host-Target Interface), the `tohost`/`fromhost` mailbox of Spike and
 * riscv-tests, served the way QEMU serves it to RV32 guests.
 *
 * There is no register block: `tohost` and `fromhost` are 64-bit words in guest RAM,
 * found through the ELF symbols of the same names. The machine watches stores to
 * `tohost` ({@link StoreWatcher}); an RV32 guest stores the low word and then the
 * high word, and the command is taken when the last byte of `tohost` is written
 * (QEMU acts on the high-word store too).
 *
 * Command word: device = bits 63:56, command = bits 55:48, payload = bits 47:0.
 * - device 0, command 0, payload odd: exit with code `payload >> 1` (1 = pass).
 * - device 0, command 0, payload even: a pointer to a proxied system call, eight
 *   64-bit words `{which, arg0, arg1, arg2, …}` (riscv-tests' `syscall()`, Spike's
 *   "magic memory"). `write` (64) to fd 1 or 2 goes to the console and returns the
 *   count; every other call returns -ENOSYS (-38) and is counted in
 *   {@link Htif.unsupportedSyscalls}. The result goes to word 0 and `fromhost` is set
 *   to 1, as Spike does, so a guest waiting on `fromhost` never hangs. (QEMU proxies
 *   only one-byte writes to fd 1 and ignores the rest.)
 * - device 1, command 1: console putchar of `payload & 0xff`; `fromhost` acknowledges
 *   with device 1, command 1, payload `0x100 | char` (QEMU's and Spike's reply).
 * - device 1, command 0: console getchar. The reply, device 1, command 0, payload
 *   `0x100 | char`, is written when input is available, at once or when
 *   {@link Htif.receive} delivers it; until then the request stays pending, as in QEMU
 *   and Spike (riscv-pk polls `fromhost` and treats "no reply yet" as no input).
 * - anything else is ignored, but still acknowledged like QEMU (device and command
 *   echoed, payload 0).
 *
 * `tohost` is cleared to 0 before the command is carried out, so the guest sees its
 * request taken; a `fromhost` reply overwrites whatever is there, as in QEMU.
 */

import type { ConsolePort, DmaMemory, PowerControl, StoreWatcher, Width } from "./device.ts";

const DEV_SYSTEM = 0;
const DEV_CONSOLE = 1;
const CONSOLE_GETC = 0;
const CONSOLE_PUTC = 1;

const SYS_WRITE = 64;
const ENOSYS = 38;
const EFAULT = 14;

const TWO32 = 0x1_0000_0000;

/** The HTIF mailbox over guest RAM. */
export class Htif implements StoreWatcher {
  /** Proxied system calls other than `write`, answered with -ENOSYS. */
  unsupportedSyscalls = 0;

  private readonly mem: DmaMemory;
  private readonly tohost: number;
  private readonly fromhost: number | null;
  private readonly out: ConsolePort;
  private readonly power: PowerControl;

  private readonly word = new Uint8Array(8);
  private readonly wordView = new DataView(this.word.buffer);
  private readonly magic = new Uint8Array(64);
  private readonly magicView = new DataView(this.magic.buffer);
  private readonly chunk = new Uint8Array(256);
  private readonly zero = new Uint8Array(8);

  private input: number[] = [];
  private inputHead = 0;
  private readPending = false;
  private busy = false;

  /**
   * Creates the mailbox; nothing happens until the guest stores to `tohost`.
   *
   * @param mem guest RAM
   * @param tohost guest-physical address of the `tohost` symbol
   * @param fromhost guest-physical address of `fromhost`, or null if the image has none
   *   (then no replies are written)
   * @param out console output
   * @param power receives exit requests
   */
  constructor(
    mem: DmaMemory,
    tohost: number,
    fromhost: number | null,
    out: ConsolePort,
    power: PowerControl,
  ) {
    this.mem = mem;
    this.tohost = tohost;
    this.fromhost = fromhost;
    this.out = out;
    this.power = power;
  }

  /** The guest-physical range the bus must watch for stores: `tohost`, 8 bytes. */
  range(): { base: number; size: number } {
    return { base: this.tohost, size: 8 };
  }

  /** Console input for getchar requests. */
  receive(bytes: Uint8Array | number[]): void {
    for (let i = 0; i < bytes.length; i++) this.input.push(bytes[i] & 0xff);
    this.answerRead();
  }

  /** True while received bytes wait for a getchar request. */
  hasPendingInput(): boolean {
    return this.inputHead < this.input.length;
  }

  /** Takes the command once the last byte of `tohost` has been stored. */
  stored(paddr: number, width: Width): void {
    if (paddr + width !== this.tohost + 8 || this.busy) return;
    if (!this.mem.read(this.tohost, this.word)) return;
    const lo = this.wordView.getUint32(0, true);
    const hi = this.wordView.getUint32(4, true);
    if (lo === 0 && hi === 0) return;
    this.busy = true; // clearing tohost below is itself a watched store
    try {
      this.mem.write(this.tohost, this.zero);
      this.command(hi >>> 24, (hi >>> 16) & 0xff, (hi & 0xffff) * TWO32 + lo);
    } finally {
      this.busy = false;
    }
  }

  /** Carries out one tohost command. */
  private command(device: number, cmd: number, payload: number): void {
    if (device === DEV_SYSTEM && cmd === 0) {
      if (payload % 2 === 1) {
        this.power.exit(Math.floor(payload / 2));
      } else {
        this.syscall(payload);
        this.reply(DEV_SYSTEM, 0, 1);
      }
    } else if (device === DEV_CONSOLE && cmd === CONSOLE_PUTC) {
      const ch = payload & 0xff;
      this.out.put(ch);
      this.reply(DEV_CONSOLE, CONSOLE_PUTC, 0x100 | ch);
    } else if (device === DEV_CONSOLE && cmd === CONSOLE_GETC) {
      this.readPending = true;
      this.answerRead();
    } else {
      this.reply(device, cmd, 0);
    }
  }

  /** Runs a proxied system call; its result goes to word 0 of the argument block. */
  private syscall(addr: number): void {
    if (!this.mem.read(addr, this.magic)) {
      this.unsupportedSyscalls++;
      return;
    }
    const which = this.u64(0);
    let result: number;
    if (which === SYS_WRITE && (this.u64(1) === 1 || this.u64(1) === 2)) {
      result = this.consoleWrite(this.u64(2), this.u64(3));
    } else {
      this.unsupportedSyscalls++;
      result = -ENOSYS;
    }
    // 64-bit two's complement, little-endian.
    this.magicView.setUint32(0, result >>> 0, true);
    this.magicView.setUint32(4, result < 0 ? 0xffff_ffff : Math.floor(result / TWO32), true);
    this.mem.write(addr, this.magic.subarray(0, 8));
  }

  /** Syscall proxy write(2) to the console: copies `len` bytes from guest `buf`. */
  private consoleWrite(buf: number, len: number): number {
    let done = 0;
    while (done < len) {
      const n = Math.min(this.chunk.length, len - done);
      const part = this.chunk.subarray(0, n);
      if (!this.mem.read(buf + done, part)) return done > 0 ? done : -EFAULT;
      for (let i = 0; i < n; i++) this.out.put(part[i]);
      done += n;
    }
    return done;
  }

  /** Reads 64-bit word `i` of the syscall argument block as a number. */
  private u64(i: number): number {
    return this.magicView.getUint32(8 * i + 4, true) * TWO32 +
      this.magicView.getUint32(8 * i, true);
  }

  /** Answers a pending getchar if input is available. */
  private answerRead(): void {
    if (!this.readPending || this.inputHead >= this.input.length) return;
    const ch = this.input[this.inputHead++];
    if (this.inputHead === this.input.length) {
      this.input = [];
      this.inputHead = 0;
    }
    this.readPending = false;
    this.reply(DEV_CONSOLE, CONSOLE_GETC, 0x100 | ch);
  }

  /** Writes a reply to fromhost. */
  private reply(device: number, cmd: number, payload: number): void {
    if (this.fromhost === null) return;
    this.wordView.setUint32(0, payload >>> 0, true);
    this.wordView.setUint32(4, ((device << 24) | (cmd << 16)) >>> 0, true);
    this.mem.write(this.fromhost, this.word);
  }
}
