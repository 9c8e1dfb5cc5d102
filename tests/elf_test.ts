/**
 * Tests for vmm/elf.ts: ELF32 RISC-V images built by hand (so the tests run anywhere) and,
 * when the GNU RISC-V toolchain is installed, by the toolchain itself; every validation
 * error; and a deterministic fuzz showing that bad input only ever raises UserError.
 */

import assert from "node:assert/strict";
import { EF_RISCV_RVC, isElf, parseElf, PF_R, PF_W, PF_X } from "../vmm/elf.ts";
import { UserError } from "../vmm/errors.ts";

// ---------------------------------------------------------------------------
// A minimal ELF32 writer, just enough to build valid and broken images.

interface SegSpec {
  type?: number; // default PT_LOAD
  vaddr?: number;
  paddr?: number; // default vaddr
  data?: Uint8Array;
  memsz?: number; // default data.length
  flags?: number;
  offset?: number; // override the file offset
}

interface SecSpec {
  type: number;
  data?: Uint8Array;
  link?: number;
  entsize?: number;
  /** Use the file offset of segment N's data instead of placing new bytes. */
  sameAsSegment?: number;
}

interface ElfSpec {
  entry?: number;
  type?: number; // e_type, default ET_EXEC
  machine?: number;
  flags?: number;
  segs?: SegSpec[];
  secs?: SecSpec[];
  /** Store the program header count through section 0 (gABI extended numbering). */
  xnum?: boolean;
}

const PT_LOAD = 1;
const PT_INTERP = 3;
const PT_NOTE = 4;
const PT_GNU_STACK = 0x6474e551;
const PT_RISCV_ATTRIBUTES = 0x70000003;
const SHT_SYMTAB = 2;
const SHT_STRTAB = 3;
const SHT_NOTE = 7;
const SHT_NOBITS = 8;

const CODE = new Uint8Array([0x13, 0x05, 0x10, 0x00, 0x6f, 0x00, 0x00, 0x00]); // li a0,1; j .

function align4(n: number): number {
  return Math.ceil(n / 4) * 4;
}

/** Header byte offsets used by the error tests to corrupt fields. */
const E = { class: 4, data: 5, version: 6, type: 16, machine: 18, entry: 24, phoff: 28 } as const;
const E2 = { shoff: 32, phentsize: 42, phnum: 44, shentsize: 46, shnum: 48 } as const;

function makeElf(spec: ElfSpec = {}): Uint8Array {
  const segs = spec.segs ?? [{ vaddr: 0x8000_0000, data: CODE, flags: PF_R | PF_X }];
  const secs = spec.secs ?? [];
  const phoff = 52;
  let at = phoff + segs.length * 32;
  const segOff: number[] = [];
  for (const s of segs) {
    at = align4(at);
    segOff.push(s.offset ?? at);
    at += s.data?.length ?? 0;
  }
  const secOff: number[] = [];
  for (const s of secs) {
    at = align4(at);
    if (s.sameAsSegment !== undefined) {
      secOff.push(segOff[s.sameAsSegment]);
    } else {
      secOff.push(at);
      if (s.type !== SHT_NOBITS) at += s.data?.length ?? 0;
    }
  }
  at = align4(at);
  const withSections = secs.length > 0 || spec.xnum === true;
  const shoff = withSections ? at : 0;
  const shnum = withSections ? secs.length + 1 : 0;
  const size = at + shnum * 40;

  const out = new Uint8Array(size);
  const v = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 1, 1, 1]);
  v.setUint16(16, spec.type ?? 2, true);
  v.setUint16(18, spec.machine ?? 243, true);
  v.setUint32(20, 1, true);
  v.setUint32(24, spec.entry ?? 0x8000_0000, true);
  v.setUint32(28, phoff, true);
  v.setUint32(32, shoff, true);
  v.setUint32(36, spec.flags ?? EF_RISCV_RVC, true);
  v.setUint16(40, 52, true);
  v.setUint16(42, 32, true);
  v.setUint16(44, spec.xnum ? 0xffff : segs.length, true);
  v.setUint16(46, 40, true);
  v.setUint16(48, shnum, true);
  v.setUint16(50, 0, true);

  segs.forEach((s, i) => {
    const ph = phoff + i * 32;
    const len = s.data?.length ?? 0;
    v.setUint32(ph, s.type ?? PT_LOAD, true);
    v.setUint32(ph + 4, segOff[i], true);
    v.setUint32(ph + 8, s.vaddr ?? 0, true);
    v.setUint32(ph + 12, s.paddr ?? s.vaddr ?? 0, true);
    v.setUint32(ph + 16, len, true);
    v.setUint32(ph + 20, s.memsz ?? len, true);
    v.setUint32(ph + 24, s.flags ?? PF_R, true);
    v.setUint32(ph + 28, 4, true);
    if (s.data && s.offset === undefined) out.set(s.data, segOff[i]);
  });
  if (spec.xnum) v.setUint32(shoff + 28, segs.length, true); // section 0's sh_info
  secs.forEach((s, i) => {
    const sh = shoff + (i + 1) * 40;
    v.setUint32(sh + 4, s.type, true);
    v.setUint32(sh + 16, secOff[i], true);
    v.setUint32(sh + 20, s.data?.length ?? 0, true);
    v.setUint32(sh + 24, s.link ?? 0, true);
    v.setUint32(sh + 36, s.entsize ?? (s.type === SHT_SYMTAB ? 16 : 0), true);
    if (s.data && s.sameAsSegment === undefined && s.type !== SHT_NOBITS) {
      out.set(s.data, secOff[i]);
    }
  });
  return out;
}

interface Sym {
  name: string;
  value: number;
  bind?: number; // 0 local, 1 global, 2 weak
  type?: number; // 0 notype, 1 object, 2 func, 3 section, 4 file
  shndx?: number; // default 1 (defined)
}

/** Builds [.symtab bytes, .strtab bytes]. */
function symtab(syms: Sym[]): [Uint8Array, Uint8Array] {
  const enc = new TextEncoder();
  const strs: number[] = [0];
  const tab = new Uint8Array((syms.length + 1) * 16);
  const v = new DataView(tab.buffer);
  syms.forEach((s, i) => {
    const p = (i + 1) * 16;
    v.setUint32(p, s.name === "" ? 0 : strs.length, true);
    if (s.name !== "") strs.push(...enc.encode(s.name), 0);
    v.setUint32(p + 4, s.value, true);
    v.setUint8(p + 12, ((s.bind ?? 1) << 4) | (s.type ?? 0));
    v.setUint16(p + 14, s.shndx ?? 1, true);
  });
  return [tab, new Uint8Array(strs)];
}

/** Encodes one note: namesz, descsz, type, name + NUL padded, desc padded. */
function note(name: string, type: number, desc: number[]): Uint8Array {
  const n = new TextEncoder().encode(name);
  const out = new Uint8Array(12 + align4(n.length + 1) + align4(desc.length));
  const v = new DataView(out.buffer);
  v.setUint32(0, n.length + 1, true);
  v.setUint32(4, desc.length, true);
  v.setUint32(8, type, true);
  out.set(n, 12);
  out.set(desc, 12 + align4(n.length + 1));
  return out;
}

function set16(b: Uint8Array, off: number, val: number): Uint8Array {
  const c = b.slice();
  new DataView(c.buffer).setUint16(off, val, true);
  return c;
}

function set32(b: Uint8Array, off: number, val: number): Uint8Array {
  const c = b.slice();
  new DataView(c.buffer).setUint32(off, val, true);
  return c;
}

/** Asserts that parsing fails with a one-line UserError whose message matches `re`. */
function rejects(bytes: Uint8Array, re: RegExp): void {
  assert.throws(() => parseElf(bytes, "t.elf"), (e: unknown) => {
    assert.ok(e instanceof UserError, `expected UserError, got ${e}`);
    assert.match(e.message, re);
    assert.match(e.message, /^t\.elf: /);
    assert.ok(!e.message.includes("\n"), "message must be one line");
    return true;
  });
}

// ---------------------------------------------------------------------------
// Valid images

Deno.test("isElf looks at the magic number only", () => {
  assert.equal(isElf(makeElf()), true);
  assert.equal(isElf(new Uint8Array([0x7f, 0x45, 0x4c])), false);
  assert.equal(isElf(new TextEncoder().encode("#!/bin/sh\n")), false);
  assert.equal(isElf(new Uint8Array(0)), false);
});

Deno.test("a hand-built image: entry, segments, flags", () => {
  const data = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  const bytes = makeElf({
    entry: 0x8000_0004,
    segs: [
      { vaddr: 0x8000_0000, data: CODE, flags: PF_R | PF_X },
      { type: PT_RISCV_ATTRIBUTES, data: new Uint8Array([0x41, 0, 0, 0]) },
      { type: PT_GNU_STACK, flags: PF_R | PF_W },
      { vaddr: 0x8000_1000, data, memsz: 0x100, flags: PF_R | PF_W },
      { vaddr: 0x8000_2000, memsz: 0 }, // empty: skipped
      { vaddr: 0xffff_f000, memsz: 0x1000, flags: PF_R | PF_W }, // ends exactly at 2^32
    ],
  });
  const img = parseElf(bytes);
  assert.equal(img.kind, "exec");
  assert.equal(img.entry, 0x8000_0004);
  assert.equal(img.entryPaddr, 0x8000_0004);
  assert.equal(img.flags & EF_RISCV_RVC, EF_RISCV_RVC);
  assert.equal(img.segments.length, 3);
  const [text, dataSeg, top] = img.segments;
  assert.deepEqual([text.paddr, text.vaddr, text.memsz, text.flags], [
    0x8000_0000,
    0x8000_0000,
    8,
    PF_R | PF_X,
  ]);
  assert.deepEqual([...text.data], [...CODE]);
  assert.deepEqual([dataSeg.paddr, dataSeg.memsz, dataSeg.flags], [0x8000_1000, 0x100, 6]);
  assert.deepEqual([...dataSeg.data], [...data]);
  assert.equal(dataSeg.data.buffer, bytes.buffer, "data is a view into the input, not a copy");
  assert.deepEqual([top.paddr, top.memsz, top.data.length], [0xffff_f000, 0x1000, 0]);
  assert.equal(img.symbols.size, 0, "no section headers: stripped");
  assert.deepEqual(img.notes, []);
});

Deno.test("addresses and the entry are unsigned, and the entry maps through its segment", () => {
  const img = parseElf(makeElf({
    entry: 0xc000_0010,
    segs: [{ vaddr: 0xc000_0000, paddr: 0x8020_0000, data: CODE, memsz: 0x20 }],
  }));
  assert.equal(img.entry, 0xc000_0010);
  assert.equal(img.entryPaddr, 0x8020_0010);
  assert.equal(img.segments[0].vaddr, 0xc000_0000);
  assert.equal(img.segments[0].paddr, 0x8020_0000);
});

Deno.test("the input may be a view at an offset into a larger buffer", () => {
  const elf = makeElf();
  const big = new Uint8Array(elf.length + 7);
  big.set(elf, 7);
  const img = parseElf(big.subarray(7));
  assert.deepEqual([...img.segments[0].data], [...CODE]);
});

Deno.test("ET_DYN (static PIE, e.g. OpenSBI) loads at its link addresses", () => {
  const img = parseElf(makeElf({ type: 3 }));
  assert.equal(img.kind, "dyn");
  assert.equal(img.segments[0].paddr, 0x8000_0000);
});

Deno.test("symbols: defined names only; global beats weak beats local", () => {
  const [tab, str] = symtab([
    { name: "tohost", value: 0x8000_1000, type: 1 },
    { name: "fromhost", value: 0x8000_1040, type: 1 },
    { name: "_start", value: 0x8000_0000, type: 2 },
    { name: "dup", value: 1, bind: 0 },
    { name: "dup", value: 2, bind: 1 },
    { name: "dup", value: 3, bind: 0 },
    { name: "weakish", value: 4, bind: 2 },
    { name: "weakish", value: 5, bind: 1 },
    { name: "weakish", value: 6, bind: 2 },
    { name: "extern_fn", value: 0, shndx: 0 }, // undefined
    { name: "", value: 0, type: 3 }, // section symbol
    { name: "crt.S", value: 0, type: 4, shndx: 0xfff1 }, // file symbol
    { name: "$x", value: 0x8000_0000, bind: 0 }, // RISC-V mapping symbol
    { name: "$xrv32i2p1_m2p0", value: 0x8000_0000, bind: 0 },
    { name: "abs_sym", value: 0xffff_fffc, shndx: 0xfff1 },
  ]);
  const img = parseElf(makeElf({
    secs: [
      { type: SHT_SYMTAB, data: tab, link: 2 },
      { type: SHT_STRTAB, data: str },
      { type: SHT_NOBITS, data: new Uint8Array(64) }, // .bss: no file bytes
    ],
  }));
  assert.deepEqual(
    img.symbols,
    new Map([
      ["tohost", 0x8000_1000],
      ["fromhost", 0x8000_1040],
      ["_start", 0x8000_0000],
      ["dup", 2],
      ["weakish", 5],
      ["abs_sym", 0xffff_fffc],
    ]),
  );
});

Deno.test("notes from PT_NOTE and SHT_NOTE, each note once", () => {
  const notes = new Uint8Array([
    ...note("belowzero", 1, [1, 0, 0, 0]),
    ...note("GNU", 3, [0xde, 0xad, 0xbe]),
  ]);
  const other = note("Xen", 7, []);
  const img = parseElf(makeElf({
    segs: [
      { vaddr: 0x8000_0000, data: CODE, flags: PF_R | PF_X },
      { type: PT_NOTE, data: notes },
    ],
    secs: [
      { type: SHT_NOTE, data: notes, sameAsSegment: 1 }, // the same bytes as PT_NOTE
      { type: SHT_NOTE, data: other }, // only a section (not allocated)
    ],
  }));
  assert.equal(img.notes.length, 3);
  assert.deepEqual(img.notes.map((n) => [n.name, n.type, [...n.desc]]), [
    ["belowzero", 1, [1, 0, 0, 0]],
    ["GNU", 3, [0xde, 0xad, 0xbe]],
    ["Xen", 7, []],
  ]);
});

Deno.test("extended program header numbering (e_phnum = PN_XNUM)", () => {
  const img = parseElf(makeElf({ xnum: true }));
  assert.equal(img.segments.length, 1);
  rejects(set32(makeElf(), E2.shoff, 0).fill(0xff, 44, 46), /extended program header/);
});

// ---------------------------------------------------------------------------
// Errors

Deno.test("rejects: not an ELF file", () => {
  rejects(new Uint8Array(0), /not an ELF file/);
  rejects(new TextEncoder().encode('{"domains": []}'), /not an ELF file/);
  rejects(new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 1, 1]), /truncated/);
});

Deno.test("rejects: wrong class, byte order, version", () => {
  const ok = makeElf();
  const with8 = (off: number, v: number) => {
    const c = ok.slice();
    c[off] = v;
    return c;
  };
  rejects(with8(E.class, 2), /is a 64-bit ELF; belowzero runs RV32 images$/);
  rejects(with8(E.class, 0), /invalid ELF class 0/);
  rejects(with8(E.data, 2), /big-endian/);
  rejects(with8(E.data, 3), /invalid ELF data encoding/);
  rejects(with8(E.version, 0), /unsupported ELF version/);
  rejects(ok.subarray(0, 40), /truncated \(40 bytes; an ELF32 header needs 52\)/);
});

Deno.test("rejects: machine is not RISC-V", () => {
  rejects(set16(makeElf(), E.machine, 62), /built for x86-64, not RISC-V \(EM_RISCV = 243\)/);
  rejects(set16(makeElf(), E.machine, 40), /built for ARM/);
  rejects(set16(makeElf(), E.machine, 999), /built for machine 999/);
});

Deno.test("rejects: not an executable", () => {
  rejects(makeElf({ type: 1 }), /relocatable object \(ET_REL\)/);
  rejects(makeElf({ type: 4 }), /core dump/);
  rejects(makeElf({ type: 0 }), /unknown ELF type 0/);
  rejects(
    makeElf({
      type: 3,
      segs: [
        { type: PT_INTERP, data: new TextEncoder().encode("/lib/ld-linux-riscv32-ilp32.so.1\0") },
        { vaddr: 0x8000_0000, data: CODE },
      ],
    }),
    /dynamically linked/,
  );
});

Deno.test("rejects: program header table problems", () => {
  const ok = makeElf();
  rejects(
    set32(ok, E.phoff, ok.length - 16),
    /program header table \(1 entries\).*outside the file/,
  );
  rejects(set32(ok, E.phoff, 0xffff_fff0), /outside the file/);
  rejects(set16(ok, E2.phentsize, 56), /program header entry size is 56, expected 32/);
  rejects(set16(ok, E2.phnum, 0), /no program headers/);
  rejects(set16(ok, E2.phnum, 0xfffe), /outside the file/);
});

Deno.test("rejects: section header table problems", () => {
  const [tab, str] = symtab([{ name: "x", value: 1 }]);
  const ok = makeElf({
    secs: [{ type: SHT_SYMTAB, data: tab, link: 2 }, { type: SHT_STRTAB, data: str }],
  });
  parseElf(ok);
  const shoff = new DataView(ok.buffer).getUint32(E2.shoff, true);
  rejects(set32(ok, E2.shoff, ok.length - 8), /section header table.*outside the file/);
  rejects(set16(ok, E2.shentsize, 64), /section header entry size is 64, expected 40/);
  rejects(set16(ok, E2.shnum, 200), /section header table \(200 entries\)/);
  // Section 1's offset moved past the end of the file.
  rejects(set32(ok, shoff + 40 + 16, ok.length), /section 1 .*outside the file/);
  // Section 1's size grown past the end of the file.
  rejects(set32(ok, shoff + 40 + 20, 0x7fff_fff0), /section 1 .*outside the file/);
});

Deno.test("rejects: segments outside the file, filesz > memsz, past 4 GiB", () => {
  rejects(
    makeElf({ segs: [{ vaddr: 0x8000_0000, offset: 0x10000, data: CODE }] }),
    /PT_LOAD segment 0 .*outside the file/,
  );
  rejects(
    makeElf({ segs: [{ vaddr: 0x8000_0000, data: CODE, memsz: 4 }] }),
    /PT_LOAD segment 0 has a file size \(8\) larger than its memory size \(4\)/,
  );
  rejects(
    makeElf({ segs: [{ vaddr: 0x8000_0000, data: CODE, memsz: 0 }] }),
    /file size \(8\) larger/,
  );
  rejects(
    makeElf({ segs: [{ vaddr: 0xffff_fffc, data: CODE }], entry: 0xffff_fffc }),
    /runs past the 32-bit address space/,
  );
  rejects(
    makeElf({
      segs: [{ type: PT_NOTE, offset: 0x10000, data: CODE }, { vaddr: 0x8000_0000, data: CODE }],
    }),
    /PT_NOTE segment 0 .*outside the file/,
  );
});

Deno.test("rejects: overlapping PT_LOAD segments", () => {
  rejects(
    makeElf({
      segs: [
        { vaddr: 0x8000_0000, data: CODE, memsz: 0x2000 },
        { vaddr: 0x8000_1000, data: CODE },
      ],
    }),
    /PT_LOAD segments 0 and 1 overlap \(physical 0x80000000\+8192 and 0x80001000\+8\)/,
  );
  // Overlap by physical address even when virtual addresses differ.
  rejects(
    makeElf({
      segs: [
        { vaddr: 0x8000_0000, data: CODE },
        { type: PT_GNU_STACK },
        { vaddr: 0xc000_0000, paddr: 0x8000_0004, data: CODE },
      ],
    }),
    /segments 0 and 2 overlap/,
  );
  // Adjacent is fine.
  parseElf(
    makeElf({ segs: [{ vaddr: 0x8000_0000, data: CODE }, { vaddr: 0x8000_0008, data: CODE }] }),
  );
});

Deno.test("rejects: nothing to load, or an entry point outside the image", () => {
  rejects(
    makeElf({ segs: [{ vaddr: 0x8000_0000, memsz: 0 }] }),
    /no loadable \(PT_LOAD\) segments/,
  );
  rejects(makeElf({ segs: [{ type: PT_NOTE, data: note("a", 1, []) }] }), /no loadable/);
  rejects(
    makeElf({ entry: 0x8000_0008 }),
    /entry point 0x80000008 is outside every loadable segment/,
  );
  rejects(makeElf({ entry: 0 }), /entry point 0x00000000/);
});

Deno.test("rejects: broken symbol tables", () => {
  const [tab, str] = symtab([{ name: "tohost", value: 1 }]);
  const build = (secs: SecSpec[]) => makeElf({ secs });
  rejects(
    build([{ type: SHT_SYMTAB, data: tab, link: 2 }, { type: 1, data: str }]),
    /links to 2, which is not a string table/,
  );
  rejects(
    build([{ type: SHT_SYMTAB, data: tab, link: 9 }, { type: SHT_STRTAB, data: str }]),
    /links to 9/,
  );
  rejects(
    build([{ type: SHT_SYMTAB, data: tab, link: 2, entsize: 24 }, { type: SHT_STRTAB, data: str }]),
    /entry size 24, expected 16/,
  );
  rejects(
    build([{ type: SHT_SYMTAB, data: tab.subarray(0, 20), link: 2 }, {
      type: SHT_STRTAB,
      data: str,
    }]),
    /not a multiple of 16/,
  );
  rejects(
    build([{ type: SHT_SYMTAB, data: tab, link: 2 }, {
      type: SHT_STRTAB,
      data: str.subarray(0, 4),
    }]),
    /not NUL-terminated/,
  );
  const far = tab.slice();
  new DataView(far.buffer).setUint32(16, 1000, true);
  rejects(
    build([{ type: SHT_SYMTAB, data: far, link: 2 }, { type: SHT_STRTAB, data: str }]),
    /name offset 1000 is outside/,
  );
});

Deno.test("rejects: malformed notes", () => {
  const good = note("belowzero", 1, [1, 0, 0, 0]);
  const withNote = (n: Uint8Array) =>
    makeElf({ segs: [{ vaddr: 0x8000_0000, data: CODE }, { type: PT_NOTE, data: n }] });
  parseElf(withNote(good));
  rejects(
    withNote(good.subarray(0, good.length - 4)),
    /PT_NOTE segment 1 holds a note whose sizes/,
  );
  rejects(withNote(good.subarray(0, 8)), /ends inside a note header/);
  rejects(withNote(set32(good, 0, 0xffff_ffff)), /run past its end/);
  rejects(withNote(set32(good, 4, 0xffff_fff0)), /run past its end/);
  rejects(makeElf({ secs: [{ type: SHT_NOTE, data: good.subarray(0, 20) }] }), /note section 1/);
});

// ---------------------------------------------------------------------------
// Robustness: truncation and random corruption never escape as anything but UserError.

function rich(): Uint8Array {
  const [tab, str] = symtab([{ name: "tohost", value: 0x8000_1000 }, {
    name: "_start",
    value: 0x8000_0000,
  }]);
  const n = note("belowzero", 1, [1, 0, 0, 0]);
  return makeElf({
    segs: [
      { vaddr: 0x8000_0000, data: CODE, flags: PF_R | PF_X },
      { vaddr: 0x8000_1000, data: new Uint8Array(16), memsz: 64, flags: PF_R | PF_W },
      { type: PT_NOTE, data: n },
    ],
    secs: [
      { type: SHT_SYMTAB, data: tab, link: 2 },
      { type: SHT_STRTAB, data: str },
      { type: SHT_NOTE, data: n, sameAsSegment: 2 },
    ],
  });
}

function onlyUserErrors(bytes: Uint8Array): void {
  try {
    parseElf(bytes);
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    assert.ok(!e.message.includes("\n"));
  }
}

Deno.test("every truncation of a valid image is a UserError", () => {
  const full = rich();
  parseElf(full);
  for (let len = 0; len < full.length; len++) {
    assert.throws(() => parseElf(full.subarray(0, len)), UserError, `length ${len}`);
  }
});

Deno.test("random corruption (deterministic) raises only UserError", () => {
  const base = rich();
  let seed = 0x9e3779b9;
  const rand = () => {
    // xorshift32: a fixed sequence, so a failure is reproducible.
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 0x1_0000_0000;
  };
  for (let round = 0; round < 3000; round++) {
    const b = base.slice();
    const hits = 1 + Math.floor(rand() * 4);
    for (let k = 0; k < hits; k++) {
      const at = Math.floor(rand() * b.length);
      b[at] = rand() < 0.3 ? 0xff : Math.floor(rand() * 256);
    }
    onlyUserErrors(b);
  }
});

// ---------------------------------------------------------------------------
// Real images from the GNU toolchain, when it is installed.

async function have(cmd: string): Promise<boolean> {
  try {
    const out = await new Deno.Command(cmd, { args: ["--version"], stdout: "null", stderr: "null" })
      .output();
    return out.success;
  } catch {
    return false; // not installed, or no --allow-run
  }
}

const GCC = "riscv64-unknown-elf-gcc";
const NM = "riscv64-unknown-elf-nm";
const hasGcc = await have(GCC);
const hasNm = await have(NM);

async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const td = new TextDecoder();
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")}: ${td.decode(out.stderr)}`);
  return td.decode(out.stdout);
}

const GUEST_S = `
  .section .note.belowzero, "a"
  .balign 4
  .word 2f - 1f        # namesz
  .word 4f - 3f        # descsz
  .word 1              # type
1: .asciz "belowzero"
2: .balign 4
3: .word 0x00010000    # ABI version
4: .balign 4

  .text
  .globl _start
_start:
  li a0, 1
  la t0, tohost
  sw a0, 0(t0)
1: j 1b

  .section .tohost, "aw", @progbits
  .balign 64
  .globl tohost
tohost: .dword 0
  .globl fromhost
fromhost: .dword 0

  .bss
buffer: .space 256
`;

Deno.test({
  name: "toolchain: a real RV32 image, checked against nm",
  ignore: !hasGcc,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "belowzero-elf-" });
    try {
      await Deno.writeTextFile(`${dir}/guest.S`, GUEST_S);
      await run(GCC, [
        "-march=rv32imac_zicsr_zifencei",
        "-mabi=ilp32",
        "-nostdlib",
        "-static",
        "-Wl,-Ttext=0x80000000",
        "-o",
        `${dir}/guest.elf`,
        `${dir}/guest.S`,
      ]);
      const img = parseElf(await Deno.readFile(`${dir}/guest.elf`), "guest.elf");
      assert.equal(img.kind, "exec");
      assert.equal(img.entry, 0x8000_0000);
      assert.equal(img.entryPaddr, 0x8000_0000);
      assert.equal(img.flags & EF_RISCV_RVC, EF_RISCV_RVC);
      assert.equal(img.symbols.get("_start"), 0x8000_0000);
      const tohost = img.symbols.get("tohost");
      assert.ok(tohost !== undefined && tohost % 64 === 0 && tohost > 0x8000_0000);
      assert.equal(img.symbols.get("fromhost"), tohost + 8);
      const pv = img.notes.find((n) => n.name === "belowzero");
      assert.ok(pv);
      assert.equal(pv.type, 1);
      assert.deepEqual([...pv.desc], [0, 0, 1, 0]);
      const text = img.segments.find((s) => s.flags & PF_X);
      assert.ok(text);
      assert.equal(text.paddr, 0x8000_0000);
      // li a0,1 is c.li a0,1 under RVC: 0x4505.
      assert.deepEqual([...text.data.subarray(0, 2)], [0x05, 0x45]);
      const data = img.segments.find((s) => s.paddr <= tohost && tohost < s.paddr + s.memsz);
      assert.ok(data && data.flags & PF_W && data.memsz > data.data.length, ".bss extends it");

      if (hasNm) {
        // Every defined symbol nm lists is in the map with the same value.
        const listing = await run(NM, ["-P", `${dir}/guest.elf`]);
        let checked = 0;
        for (const line of listing.trim().split("\n")) {
          const [name, kind, value] = line.split(/\s+/);
          if (kind === "U" || name.startsWith("$")) continue;
          assert.equal(img.symbols.get(name), parseInt(value, 16), name);
          checked++;
        }
        assert.ok(checked >= 4);
      }

      // The same source as a 64-bit image and as an unlinked object.
      await run(GCC, [
        "-march=rv64imac_zicsr",
        "-mabi=lp64",
        "-nostdlib",
        "-static",
        "-Wl,-Ttext=0x80000000",
        "-o",
        `${dir}/guest64.elf`,
        `${dir}/guest.S`,
      ]);
      rejects(await Deno.readFile(`${dir}/guest64.elf`), /64-bit ELF; belowzero runs RV32 images/);
      await run(GCC, [
        "-march=rv32imac_zicsr",
        "-mabi=ilp32",
        "-c",
        "-o",
        `${dir}/guest.o`,
        `${dir}/guest.S`,
      ]);
      rejects(await Deno.readFile(`${dir}/guest.o`), /relocatable object/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
