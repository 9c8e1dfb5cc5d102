import assert from "node:assert/strict";
import { Uart16550 } from "../devices/uart16550.ts";
import { FakeConsole, FakeIrq } from "./fakes.ts";
import { UART_BASE } from "../devices/virt_map.ts";

const RBR = 0,
  THR = 0,
  DLL = 0,
  IER = 1,
  DLM = 1,
  IIR = 2,
  FCR = 2,
  LCR = 3,
  MCR = 4,
  LSR = 5,
  MSR = 6,
  SCR = 7;

function make() {
  const irq = new FakeIrq();
  const out = new FakeConsole();
  const uart = new Uart16550(UART_BASE, irq, out);
  const r = (o: number) => uart.read(o, 1);
  const w = (o: number, v: number) => uart.write(o, 1, v);
  return { uart, irq, out, r, w };
}

Deno.test("uart: reset values match QEMU's serial model", () => {
  const { uart, r } = make();
  assert.equal(uart.base, UART_BASE);
  assert.equal(uart.size, 0x100);
  assert.equal(uart.name, "uart0");
  assert.equal(r(IER), 0);
  assert.equal(r(IIR), 0x01);
  assert.equal(r(LCR), 0);
  assert.equal(r(MCR), 0x08);
  assert.equal(r(LSR), 0x60);
  assert.equal(r(MSR), 0xb0);
  assert.equal(r(SCR), 0);
  assert.equal(r(8), 0);
  assert.equal(r(0xff), 0);
});

Deno.test("uart: THR writes reach the console at once", () => {
  const { out, r, w } = make();
  for (const c of "hi\n") w(THR, c.charCodeAt(0));
  assert.equal(out.text(), "hi\n");
  assert.equal(r(LSR) & 0x60, 0x60, "THRE and TEMT stay set");
  w(THR, 0x1234); // only the low byte counts
  assert.equal(out.bytes.at(-1), 0x34);
});

Deno.test("uart: DLAB switches offsets 0 and 1 to the divisor latch", () => {
  const { out, r, w } = make();
  w(IER, 0x05);
  w(LCR, 0x83);
  assert.equal(r(DLL), 0x0c, "QEMU's reset divisor");
  assert.equal(r(DLM), 0);
  w(DLL, 0x01);
  w(DLM, 0x02);
  assert.equal(r(DLL), 0x01);
  assert.equal(r(DLM), 0x02);
  assert.equal(out.bytes.length, 0, "DLL write is not a transmit");
  w(LCR, 0x03);
  assert.equal(r(LCR), 0x03);
  assert.equal(r(IER), 0x05, "IER kept its value under DLAB");
  w(LCR, 0x83);
  assert.equal(r(DLL), 0x01);
});

Deno.test("uart: scratch register and read-only LSR/MSR", () => {
  const { r, w } = make();
  w(SCR, 0xa5);
  assert.equal(r(SCR), 0xa5);
  w(LSR, 0);
  w(MSR, 0);
  assert.equal(r(LSR), 0x60);
  assert.equal(r(MSR), 0xb0);
  w(IER, 0xff);
  assert.equal(r(IER), 0x0f, "upper IER bits do not exist");
  w(MCR, 0xff);
  assert.equal(r(MCR), 0x1f);
});

Deno.test("uart: without FIFOs one byte at a time, the rest waits host-side", () => {
  const { uart, r } = make();
  assert.equal(uart.hasPendingInput(), false);
  uart.receive([0x41, 0x42, 0x43]);
  assert.equal(uart.hasPendingInput(), true);
  assert.equal(r(LSR) & 1, 1);
  assert.equal(r(RBR), 0x41);
  assert.equal(r(RBR), 0x42);
  assert.equal(r(RBR), 0x43);
  assert.equal(r(LSR) & 1, 0);
  assert.equal(uart.hasPendingInput(), false);
  assert.equal(r(RBR), 0x43, "the holding register keeps its last byte");
});

Deno.test("uart: 16-byte FIFO, input never lost", () => {
  const { uart, r, w } = make();
  w(FCR, 0x01);
  assert.equal(r(IIR), 0xc1, "FIFO-enabled bits in IIR");
  const input = Array.from({ length: 300 }, (_, i) => i & 0xff);
  uart.receive(new Uint8Array(input));
  const got: number[] = [];
  while (r(LSR) & 1) got.push(r(RBR));
  assert.deepEqual(got, input);
  assert.equal(r(RBR), 0, "an empty FIFO reads 0");
  assert.equal(uart.hasPendingInput(), false);
});

Deno.test("uart: FCR receive reset drops FIFO contents and refills from the host queue", () => {
  const { uart, r, w } = make();
  w(FCR, 0x01);
  r(LSR); // the guest listens: host input starts moving into the FIFO
  uart.receive(new Uint8Array(20).map((_, i) => i));
  w(FCR, 0x03); // clear the receive FIFO
  const got: number[] = [];
  while (r(LSR) & 1) got.push(r(RBR));
  assert.deepEqual(got, [16, 17, 18, 19]);
  // Turning FIFOs off clears them too (as the datasheet says for a change of FCR.FE).
  uart.receive([1, 2]);
  w(FCR, 0x00);
  assert.equal(r(IIR) & 0xc0, 0);
  assert.equal(r(LSR) & 1, 0);
  uart.receive([3]);
  assert.equal(r(RBR), 3);
});

Deno.test("uart: received-data interrupt (no FIFO)", () => {
  const { uart, irq, r, w } = make();
  w(IER, 0x01);
  assert.equal(irq.level, false);
  uart.receive([0x61]);
  assert.equal(irq.level, true);
  assert.equal(r(IIR), 0x04);
  assert.equal(r(RBR), 0x61);
  assert.equal(irq.level, false);
  assert.equal(r(IIR), 0x01);
});

Deno.test("uart: FIFO trigger level and deterministic character timeout", () => {
  const { uart, irq, r, w } = make();
  w(FCR, 0x41); // FIFO on, trigger level 4
  w(IER, 0x01);
  uart.receive([1]);
  assert.equal(irq.level, true);
  assert.equal(r(IIR), 0xcc, "below trigger: timeout indication");
  uart.receive([2, 3, 4]);
  assert.equal(r(IIR), 0xc4, "at trigger: data available");
  for (let i = 0; i < 4; i++) r(RBR);
  assert.equal(irq.level, false);
  w(FCR, 0xc1); // trigger 14
  uart.receive(new Uint8Array(14));
  assert.equal(r(IIR), 0xc4);
  r(RBR);
  assert.equal(r(IIR), 0xcc);
});

Deno.test("uart: THR-empty interrupt, cleared by IIR read, re-armed by THR write and IER", () => {
  const { irq, r, w } = make();
  w(IER, 0x02);
  assert.equal(irq.level, true, "THR is empty when ETBEI is enabled");
  assert.equal(r(IIR), 0x02);
  assert.equal(irq.level, false, "reading IIR acknowledged it");
  assert.equal(r(IIR), 0x01);
  w(THR, 0x58);
  assert.equal(irq.level, true, "the byte left at once: THR empty again");
  w(IER, 0x00);
  assert.equal(irq.level, false);
  w(IER, 0x02);
  assert.equal(irq.level, true, "re-enabling ETBEI re-arms");
  w(FCR, 0x04); // transmit FIFO reset also re-arms
  assert.equal(r(IIR), 0x02);
  w(FCR, 0x05);
  assert.equal(r(IIR), 0xc2);
});

Deno.test("uart: IIR priority: line status > data > THR empty > modem status", () => {
  const { uart, irq, r, w } = make();
  w(IER, 0x0f);
  uart.receive([7]);
  assert.equal(r(IIR), 0x04, "data beats THR empty");
  assert.equal(r(RBR), 7);
  assert.equal(r(IIR), 0x02, "then THR empty");
  assert.equal(r(IIR), 0x01, "acknowledged");
  assert.equal(irq.level, false);
  // Loopback: a change of modem-control outputs is a modem-status event.
  w(MCR, 0x10 | 0x01);
  assert.equal(r(IIR), 0x00, "modem status");
  // Overrun in loopback: fill the 1-byte holding register then send another.
  w(THR, 1);
  w(THR, 2);
  assert.equal(r(IIR), 0x06, "line status first");
  assert.equal(r(LSR) & 0x03, 0x03, "OE and DR");
  assert.equal(r(LSR) & 0x02, 0, "OE cleared by the LSR read");
  assert.equal(r(IIR), 0x04);
});

Deno.test("uart: loopback wires THR to RBR and MCR to MSR; host input waits", () => {
  const { uart, out, r, w } = make();
  w(FCR, 0x01);
  uart.receive([0x99]);
  assert.equal(r(LSR) & 1, 1);
  assert.equal(r(RBR), 0x99);
  w(MCR, 0x10); // loopback, all outputs low
  assert.equal(r(MSR), 0x0b, "CTS, DSR, DCD fell: deltas set, status bits clear");
  assert.equal(r(MSR), 0x00, "deltas cleared by the read");
  w(MCR, 0x1f);
  assert.equal(r(MSR), 0xfb, "all status high; deltas for CTS, DSR, DCD");
  w(MCR, 0x1b); // OUT1 (RI) falls: trailing edge
  assert.equal(r(MSR) & 0x04, 0x04);
  uart.receive([0x55]);
  w(THR, 0x42);
  assert.equal(out.bytes.length, 0, "nothing reached the console");
  assert.equal(r(RBR), 0x42);
  assert.equal(r(LSR) & 1, 0, "host input is held back in loopback");
  w(MCR, 0x08);
  assert.equal(r(RBR), 0x55, "released when loopback ends");
  assert.equal(r(MSR) & 0xf0, 0xb0);
});

Deno.test("uart: every new event drives the line again, as QEMU's serial does", () => {
  const { uart, irq, r, w } = make();
  w(IER, 0x01);
  uart.receive([1]);
  assert.equal(irq.level, true);
  const n = irq.changes;
  uart.receive([2]); // still high: the PLIC must see a new request
  assert.ok(irq.changes > n);
  assert.equal(irq.level, true);
  r(RBR);
  r(RBR);
  assert.equal(irq.level, false);
});

Deno.test("uart: input waits in the host queue until the guest listens", () => {
  const { uart, r, w } = make();
  uart.receive([0x41, 0x42]);
  w(FCR, 0x07); // a driver's initial FIFO reset must not lose queued input
  assert.equal(r(LSR) & 1, 1);
  assert.equal(r(RBR), 0x41);
  assert.equal(r(RBR), 0x42);
});
