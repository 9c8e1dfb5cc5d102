/**
 * The host side of the guest console: bytes the guest transmits are buffered and
 * written to stdout in batches (one write per run slice, not one per character).
 */

import type { ConsolePort } from "../devices/device.ts";

/** A ConsolePort that writes to stdout. */
export class ConsoleWriter implements ConsolePort {
  private buf = new Uint8Array(65536);
  private n = 0;

  /** Queues one byte. */
  put(byte: number): void {
    if (this.n === this.buf.length) this.flush();
    this.buf[this.n++] = byte;
  }

  /** Writes what is queued. */
  flush(): void {
    let off = 0;
    while (off < this.n) off += Deno.stdout.writeSync(this.buf.subarray(off, this.n));
    this.n = 0;
  }
}
