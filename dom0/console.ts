/**
 * Dom0's console backend: collects each domain's console bytes (console_io) into lines and
 * passes them on prefixed with the domain's name, so the output of several domains stays
 * readable when interleaved (as `xl console` shows one domain, and a serial multiplexer
 * many).
 */

import type { Domain } from "../kernel/domain.ts";

/** Where finished lines go: the domain and the line without its newline. */
export type LineSink = (dom: Domain, line: string) => void;

/** Line assembly per domain. */
export class ConsoleBackend {
  private readonly decoder = new TextDecoder();

  /** Lines go to `sink`. */
  constructor(private readonly sink: LineSink) {}

  /** Bytes written by `dom`. Carriage returns are dropped; a newline ends a line. */
  write(dom: Domain, bytes: Uint8Array): void {
    const buf = dom.consoleLine;
    for (const b of bytes) {
      if (b === 13) continue;
      if (b !== 10) {
        buf.push(b);
        continue;
      }
      this.sink(dom, this.decoder.decode(new Uint8Array(buf)));
      buf.length = 0;
    }
  }
}
