/**
 * ELF32 little-endian RISC-V executable reader: the guest images of DESIGN §1 and the
 * PV notes of DESIGN §6.
 *
 * Follows the System V gABI (chapter 4 "Object Files": header, sections, symbol table,
 * notes; chapter 5 "Program Loading": program headers) and the RISC-V ELF psABI
 * (EM_RISCV, e_flags, PT_RISCV_ATTRIBUTES). Only what a loader needs is read: loadable
 * segments, the entry point, symbols (for HTIF's `tohost` and for traces) and notes.
 *
 * Every malformed input raises a one-line UserError; offsets and counts are checked
 * against the file before any table is read, so a hostile file can neither crash nor
 * stall the reader.
 *
 * ET_DYN is accepted: a static position-independent image (OpenSBI's default
 * `fw_*.elf`, for one) is loaded at the addresses it was linked for, with no relocation,
 * as QEMU's loader does; such images relocate themselves when needed. An image that asks
 * for a program interpreter (PT_INTERP) is dynamically linked and refused.
 */

import { UserError } from "./errors.ts";

/** Segment permission bits (`p_flags`). */
export const PF_X = 1;
/** Segment is writable. */
export const PF_W = 2;
/** Segment is readable. */
export const PF_R = 4;

/** `e_flags`: the image uses compressed instructions (RISC-V psABI). */
export const EF_RISCV_RVC = 0x1;
/** `e_flags`: mask of the floating-point ABI field (0 soft, 2 single, 4 double, 6 quad). */
export const EF_RISCV_FLOAT_ABI = 0x6;
/** `e_flags`: the image targets the RV32E/RV64E base. */
export const EF_RISCV_RVE = 0x8;
/** `e_flags`: the image requires the RVTSO memory model. */
export const EF_RISCV_TSO = 0x10;

/** A loadable (PT_LOAD) segment. */
export interface ElfSegment {
  /** Physical load address (`p_paddr`): where the bytes go with translation off. */
  paddr: number;
  /** Virtual address (`p_vaddr`) the code was linked to run at. */
  vaddr: number;
  /** Size in memory; the bytes past `data.length` are zero (`.bss`). */
  memsz: number;
  /** Permissions: PF_R | PF_W | PF_X. */
  flags: number;
  /** The `p_filesz` bytes from the file. A view into the input, not a copy. */
  data: Uint8Array;
}

/** An ELF note (from a PT_NOTE segment or an SHT_NOTE section). */
export interface ElfNote {
  /** Owner name without its terminating NUL, e.g. "GNU" or "belowzero". */
  name: string;
  /** Note type, meaningful only together with `name`. */
  type: number;
  /** Descriptor bytes. A view into the input, not a copy. */
  desc: Uint8Array;
}

/** A parsed, validated RV32 executable. */
export interface ElfImage {
  /** `exec` for ET_EXEC; `dyn` for a static position-independent image (ET_DYN). */
  kind: "exec" | "dyn";
  /** Entry point (`e_entry`), a virtual address, unsigned. */
  entry: number;
  /** The entry point translated through the segment holding it: where to start with paging off. */
  entryPaddr: number;
  /** PT_LOAD segments with a nonzero size, in program-header order. */
  segments: ElfSegment[];
  /** Symbol name → unsigned value, from SHT_SYMTAB; empty if the image is stripped. */
  symbols: Map<string, number>;
  /** All notes, in file order; a note reachable from both a segment and a section appears once. */
  notes: ElfNote[];
  /** `e_flags`: see EF_RISCV_RVC and friends. */
  flags: number;
  /**
   * Sections holding instructions (SHF_EXECINSTR, allocated, with file contents): their
   * addresses and bytes. Empty when the image has no section headers.
   */
  code: { addr: number; bytes: Uint8Array }[];
}

const EHDR_SIZE = 52;
const PHDR_SIZE = 32;
const SHDR_SIZE = 40;
const SYM_SIZE = 16;
const NOTE_HDR_SIZE = 12;

const ET_REL = 1;
const ET_EXEC = 2;
const ET_DYN = 3;
const ET_CORE = 4;
const EM_RISCV = 243;

const PT_LOAD = 1;
const PT_INTERP = 3;
const PT_NOTE = 4;

const SHT_SYMTAB = 2;
const SHT_STRTAB = 3;
const SHT_NOTE = 7;
const SHT_NOBITS = 8;
const SHN_UNDEF = 0;
const STT_SECTION = 3;
const STT_FILE = 4;
/** `e_phnum` value saying the real count is in section 0's `sh_info` (gABI extended numbering). */
const PN_XNUM = 0xffff;

const TWO_32 = 0x1_0000_0000;

/** Machines a user is likely to feed us by mistake, for a clearer message. */
const MACHINE_NAMES: Record<number, string> = {
  3: "x86",
  8: "MIPS",
  20: "PowerPC",
  21: "PowerPC64",
  40: "ARM",
  62: "x86-64",
  183: "AArch64",
  258: "LoongArch",
};

/** Whether `bytes` starts with the ELF magic number `\x7fELF`. */
export function isElf(bytes: Uint8Array): boolean {
  return bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c &&
    bytes[3] === 0x46;
}

function hex(n: number): string {
  return "0x" + n.toString(16).padStart(8, "0");
}

/** Bounds-checked little-endian reads; every failure is a UserError naming the image. */
class Reader {
  readonly view: DataView;
  constructor(readonly bytes: Uint8Array, readonly what: string) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  fail(problem: string): never {
    throw new UserError(`${this.what}: ${problem}`);
  }

  /** Fails unless [offset, offset + size) lies inside the file. */
  need(offset: number, size: number, thing: string): void {
    if (offset + size > this.bytes.length) {
      this.fail(
        `${thing} (offset ${hex(offset)}, ${size} bytes) lies outside the file ` +
          `(${this.bytes.length} bytes): the file is truncated or corrupt`,
      );
    }
  }

  u8(offset: number): number {
    return this.view.getUint8(offset);
  }
  u16(offset: number): number {
    return this.view.getUint16(offset, true);
  }
  u32(offset: number): number {
    return this.view.getUint32(offset, true);
  }

  /** A NUL-terminated string starting at `offset` and ending before `end`. */
  cstring(offset: number, end: number, thing: string): string {
    let i = offset;
    while (i < end && this.bytes[i] !== 0) i++;
    if (i >= end) this.fail(`${thing} is not NUL-terminated inside its string table`);
    return new TextDecoder().decode(this.bytes.subarray(offset, i));
  }
}

interface SectionHeader {
  index: number;
  type: number;
  flags: number;
  addr: number;
  offset: number;
  size: number;
  link: number;
  entsize: number;
}

/**
 * Parses and validates an RV32 little-endian ELF executable.
 *
 * `source` names the image in error messages (a file name, typically); every problem is
 * reported as a one-line {@link UserError} such as "guest.elf: is a 64-bit ELF; belowzero
 * runs RV32 images". The returned segments, notes and their bytes are views into `bytes`.
 */
export function parseElf(bytes: Uint8Array, source = "ELF image"): ElfImage {
  // Explicitly typed so that `r.fail(...)` (returning never) narrows types after it.
  const r: Reader = new Reader(bytes, source);
  if (!isElf(bytes)) r.fail("not an ELF file (no \\x7fELF magic number)");
  if (bytes.length < 16) r.fail(`is truncated (${bytes.length} bytes)`);

  const elfClass = r.u8(4);
  if (elfClass === 2) r.fail("is a 64-bit ELF; belowzero runs RV32 images");
  if (elfClass !== 1) r.fail(`has an invalid ELF class ${elfClass}`);
  const data = r.u8(5);
  if (data === 2) r.fail("is big-endian; RISC-V images are little-endian");
  if (data !== 1) r.fail(`has an invalid ELF data encoding ${data}`);
  if (r.u8(6) !== 1) r.fail(`has unsupported ELF version ${r.u8(6)}`);
  if (bytes.length < EHDR_SIZE) {
    r.fail(`is truncated (${bytes.length} bytes; an ELF32 header needs ${EHDR_SIZE})`);
  }

  const machine = r.u16(18);
  if (machine !== EM_RISCV) {
    const name = MACHINE_NAMES[machine];
    r.fail(`is built for ${name ?? "machine " + machine}, not RISC-V (EM_RISCV = ${EM_RISCV})`);
  }
  const type = r.u16(16);
  if (type === ET_REL) r.fail("is a relocatable object (ET_REL), not an executable: link it");
  if (type === ET_CORE) r.fail("is a core dump (ET_CORE), not an executable");
  if (type !== ET_EXEC && type !== ET_DYN) r.fail(`has unknown ELF type ${type}`);

  const entry = r.u32(24);
  const phoff = r.u32(28);
  const shoff = r.u32(32);
  const flags = r.u32(36);
  const phentsize = r.u16(42);
  let phnum = r.u16(44);
  const shentsize = r.u16(46);
  let shnum = r.u16(48);

  // Section headers first: with extended numbering, section 0 holds the real counts.
  let sections: SectionHeader[] = [];
  if (shoff !== 0) {
    if (shentsize !== SHDR_SIZE) {
      r.fail(`section header entry size is ${shentsize}, expected ${SHDR_SIZE}`);
    }
    r.need(shoff, SHDR_SIZE, "the section header table");
    if (shnum === 0) shnum = r.u32(shoff + 20);
    if (phnum === PN_XNUM) phnum = r.u32(shoff + 28);
    r.need(shoff, shnum * SHDR_SIZE, `the section header table (${shnum} entries)`);
    sections = readSections(r, shoff, shnum);
  } else if (phnum === PN_XNUM) {
    r.fail("uses extended program header numbering but has no section headers");
  }

  if (phnum === 0) r.fail("has no program headers, so nothing to load");
  if (phentsize !== PHDR_SIZE) {
    r.fail(`program header entry size is ${phentsize}, expected ${PHDR_SIZE}`);
  }
  r.need(phoff, phnum * PHDR_SIZE, `the program header table (${phnum} entries)`);

  const segments: ElfSegment[] = [];
  const loadIndex: number[] = [];
  const noteRegions: { offset: number; size: number; where: string }[] = [];
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * PHDR_SIZE;
    const pType = r.u32(ph);
    const offset = r.u32(ph + 4);
    const vaddr = r.u32(ph + 8);
    const paddr = r.u32(ph + 12);
    const filesz = r.u32(ph + 16);
    const memsz = r.u32(ph + 20);
    const pFlags = r.u32(ph + 24);
    if (pType === PT_INTERP) {
      r.fail("is dynamically linked (it asks for a program interpreter); link it with -static");
    }
    if (pType === PT_NOTE) {
      r.need(offset, filesz, `PT_NOTE segment ${i}`);
      noteRegions.push({ offset, size: filesz, where: `PT_NOTE segment ${i}` });
      continue;
    }
    // Everything else that is not loadable (PT_RISCV_ATTRIBUTES, PT_GNU_STACK, PT_PHDR,
    // …) describes the image but puts nothing in memory.
    if (pType !== PT_LOAD) continue;
    if (filesz > memsz) {
      r.fail(
        `PT_LOAD segment ${i} has a file size (${filesz}) larger than its memory size ` +
          `(${memsz})`,
      );
    }
    if (memsz === 0) continue;
    r.need(offset, filesz, `PT_LOAD segment ${i}`);
    if (paddr + memsz > TWO_32 || vaddr + memsz > TWO_32) {
      r.fail(
        `PT_LOAD segment ${i} at ${hex(paddr)} (${memsz} bytes) runs past the 32-bit ` +
          "address space",
      );
    }
    segments.push({
      paddr,
      vaddr,
      memsz,
      flags: pFlags,
      data: bytes.subarray(offset, offset + filesz),
    });
    loadIndex.push(i);
  }
  if (segments.length === 0) r.fail("has no loadable (PT_LOAD) segments");
  checkOverlap(r, segments, loadIndex);

  const home = segments.find((s) => entry >= s.vaddr && entry - s.vaddr < s.memsz);
  if (home === undefined) {
    r.fail(`entry point ${hex(entry)} is outside every loadable segment`);
  }
  const entryPaddr = entry - home.vaddr + home.paddr;

  for (const s of sections) {
    if (s.type === SHT_NOTE) {
      noteRegions.push({ offset: s.offset, size: s.size, where: `note section ${s.index}` });
    }
  }

  return {
    kind: type === ET_EXEC ? "exec" : "dyn",
    entry,
    entryPaddr,
    segments,
    symbols: readSymbols(r, sections),
    code: sections
      .filter((s) => s.type === 1 && (s.flags & 6) === 6)
      .map((s) => ({ addr: s.addr, bytes: bytes.subarray(s.offset, s.offset + s.size) })),
    notes: readNotes(r, noteRegions),
    flags,
  };
}

function readSections(r: Reader, shoff: number, shnum: number): SectionHeader[] {
  const out: SectionHeader[] = [];
  for (let i = 0; i < shnum; i++) {
    const sh = shoff + i * SHDR_SIZE;
    const s: SectionHeader = {
      index: i,
      type: r.u32(sh + 4),
      flags: r.u32(sh + 8),
      addr: r.u32(sh + 12),
      offset: r.u32(sh + 16),
      size: r.u32(sh + 20),
      link: r.u32(sh + 24),
      entsize: r.u32(sh + 36),
    };
    // SHT_NULL entries (section 0, which may carry extended counts in its size field) and
    // NOBITS sections occupy no file space.
    if (s.type !== SHT_NOBITS && s.type !== 0) {
      r.need(s.offset, s.size, `section ${i}`);
    }
    out.push(s);
  }
  return out;
}

function checkOverlap(r: Reader, segments: ElfSegment[], loadIndex: number[]): void {
  const order = segments.map((_, k) => k).sort((a, b) => segments[a].paddr - segments[b].paddr);
  for (let k = 1; k < order.length; k++) {
    const a = segments[order[k - 1]];
    const b = segments[order[k]];
    if (a.paddr + a.memsz > b.paddr) {
      r.fail(
        `PT_LOAD segments ${loadIndex[order[k - 1]]} and ${loadIndex[order[k]]} overlap ` +
          `(physical ${hex(a.paddr)}+${a.memsz} and ${hex(b.paddr)}+${b.memsz})`,
      );
    }
  }
}

/** Binding rank: a global definition beats a weak one, which beats a local one. */
function bindRank(info: number): number {
  const bind = info >> 4;
  return bind === 1 ? 2 : bind === 2 ? 1 : 0;
}

function readSymbols(r: Reader, sections: SectionHeader[]): Map<string, number> {
  const symbols = new Map<string, number>();
  const rank = new Map<string, number>();
  for (const s of sections) {
    if (s.type !== SHT_SYMTAB) continue;
    if (s.entsize !== SYM_SIZE && s.entsize !== 0) {
      r.fail(`symbol table (section ${s.index}) has entry size ${s.entsize}, expected 16`);
    }
    if (s.size % SYM_SIZE !== 0) {
      r.fail(`symbol table (section ${s.index}) size ${s.size} is not a multiple of 16`);
    }
    const str = sections[s.link];
    if (str === undefined || str.type !== SHT_STRTAB) {
      r.fail(`symbol table (section ${s.index}) links to ${s.link}, which is not a string table`);
    }
    const strEnd = str.offset + str.size;
    // Entry 0 is the reserved null symbol.
    for (let p = s.offset + SYM_SIZE; p < s.offset + s.size; p += SYM_SIZE) {
      const nameOff = r.u32(p);
      const value = r.u32(p + 4);
      const info = r.u8(p + 12);
      const shndx = r.u16(p + 14);
      const symType = info & 0xf;
      if (nameOff === 0 || shndx === SHN_UNDEF) continue;
      if (symType === STT_SECTION || symType === STT_FILE) continue;
      if (nameOff >= str.size) {
        r.fail(`symbol name offset ${nameOff} is outside its string table (section ${str.index})`);
      }
      const name = r.cstring(str.offset + nameOff, strEnd, "a symbol name");
      // "$x", "$d", "$xrv32i2p1…" are RISC-V mapping symbols (code/data markers), not names.
      if (name.startsWith("$")) continue;
      const prior = rank.get(name);
      if (prior === undefined || bindRank(info) > prior) {
        symbols.set(name, value);
        rank.set(name, bindRank(info));
      }
    }
  }
  return symbols;
}

/** Rounds up to a multiple of 4 in floating point: sizes are full 32-bit values, so `& ~3` could wrap. */
function align4(n: number): number {
  return Math.ceil(n / 4) * 4;
}

function readNotes(
  r: Reader,
  regions: { offset: number; size: number; where: string }[],
): ElfNote[] {
  // Keyed by file offset: the same note is usually reachable from both a PT_NOTE
  // segment and its SHT_NOTE section.
  const byOffset = new Map<number, ElfNote>();
  for (const { offset, size, where } of regions) {
    const end = offset + size;
    let p = offset;
    while (p < end) {
      if (end - p < NOTE_HDR_SIZE) r.fail(`${where} ends inside a note header`);
      const namesz = r.u32(p);
      const descsz = r.u32(p + 4);
      const type = r.u32(p + 8);
      const nameAt = p + NOTE_HDR_SIZE;
      const descAt = nameAt + align4(namesz);
      if (descAt > end || descAt + descsz > end) {
        r.fail(
          `${where} holds a note whose sizes (name ${namesz}, desc ${descsz}) run past ` +
            "its end",
        );
      }
      if (!byOffset.has(p)) {
        const raw = r.bytes.subarray(nameAt, nameAt + namesz);
        const nul = raw.indexOf(0);
        const name = new TextDecoder().decode(nul < 0 ? raw : raw.subarray(0, nul));
        byOffset.set(p, { name, type, desc: r.bytes.subarray(descAt, descAt + descsz) });
      }
      p = descAt + align4(descsz);
    }
  }
  return [...byOffset.entries()].sort((a, b) => a[0] - b[0]).map(([, n]) => n);
}
