/**
 * The PV domain builder (DESIGN §6; the role of Xen's libxenguest `xc_dom_*`): recognises
 * a PV kernel by its `belowzero` ELF note, gives the domain its frames, loads the image at
 * its virtual addresses, writes the P2M list and the start info page, builds the initial
 * Sv32 tables with machine frame numbers, maps the shared info page, pins the root, and
 * sets vCPU 0 up to enter the kernel.
 *
 * Guest frame layout (pfn = (va − virt_base) / 4096): the image; the P2M list; start info;
 * the root table and its leaf tables; a 16 KiB boot stack; then free frames. Every frame is
 * mapped at virt_base + pfn·4096 — writable, except the page-table frames, which are
 * read-only as the rules demand — and shared info right after them.
 */

import { parseElf } from "../vmm/elf.ts";
import { UserError } from "../vmm/errors.ts";
import { PGT } from "../kernel/frames.ts";
import type { Domain } from "../kernel/domain.ts";
import type { KernelView } from "../kernel/service.ts";
import {
  ABI_VERSION,
  DOMID_INVALID,
  LINK,
  NOTE,
  NOTE_NAME,
  PTE,
  START_INFO,
  START_MAGIC,
} from "../kernel/abi.ts";
import type { PageRules } from "./page_rules.ts";

/** The virtual base a kernel gets when its note names none. */
export const DEFAULT_VIRT_BASE = 0xc000_0000;
/** Boot stack frames. */
const STACK_PAGES = 4;

/** What a built domain looks like. */
export interface BuiltDomain {
  /** Entry point (virtual). */
  entry: number;
  /** Virtual base. */
  virtBase: number;
  /** Machine address of the start info page. */
  startInfo: number;
  /** Machine frame of the root table. */
  root: number;
  /** First free guest frame. */
  firstFree: number;
}

/** Checks that `image` is a PV kernel; returns its virtual base. Throws UserError if not. */
export function pvNote(image: Uint8Array, name: string): { virtBase: number } {
  const elf = parseElf(image, name);
  const notes = elf.notes.filter((n) => n.name === NOTE_NAME);
  const word = (type: number): number | undefined => {
    const n = notes.find((x) => x.type === type);
    if (n === undefined) return undefined;
    if (n.desc.length < 4) throw new UserError(`${name}: belowzero note ${type} is too short`);
    return new DataView(n.desc.buffer, n.desc.byteOffset, 4).getUint32(0, true);
  };
  const abi = word(NOTE.ABI_VERSION);
  if (abi === undefined) {
    throw new UserError(`${name} is not a PV kernel: it has no "${NOTE_NAME}" ELF note`);
  }
  if (abi !== ABI_VERSION) {
    throw new UserError(
      `${name} was built for PV ABI version ${abi}; this belowzero speaks ${ABI_VERSION}`,
    );
  }
  const virtBase = word(NOTE.VIRT_BASE) ?? DEFAULT_VIRT_BASE;
  if (virtBase % 0x40_0000 !== 0) {
    throw new UserError(`${name}: virtual base 0x${virtBase.toString(16)} is not 4 MiB aligned`);
  }
  return { virtBase };
}

/** Options of one build. */
export interface BuildOptions {
  /** Image name for messages. */
  name: string;
  /** Frames the domain gets. */
  pages: number;
  /** Kernel command line (at most 127 bytes). */
  cmdline: string;
  /** start_info flags (SIF_*). */
  flags: number;
}

/** Builds PV domain `d` from `image`; throws UserError when it cannot be built. */
export function buildPv(
  k: KernelView,
  rules: PageRules,
  d: Domain,
  image: Uint8Array,
  o: BuildOptions,
): BuiltDomain {
  const { virtBase } = pvNote(image, o.name);
  const elf = parseElf(image, o.name);
  const cmd = new TextEncoder().encode(o.cmdline);
  if (cmd.length > 127) throw new UserError(`${o.name}: the command line is longer than 127 bytes`);
  const n = o.pages;
  const span = n * 4096;
  let imageEnd = virtBase;
  for (const s of elf.segments) {
    if (s.vaddr < virtBase || s.vaddr + s.memsz > virtBase + span) {
      throw new UserError(
        `${o.name}: segment at 0x${s.vaddr.toString(16)} (${s.memsz} bytes) lies outside the ` +
          `domain's ${n * 4} KiB from 0x${virtBase.toString(16)}`,
      );
    }
    imageEnd = Math.max(imageEnd, s.vaddr + s.memsz);
  }
  // The layout after the image.
  const p2mPfn = Math.ceil((imageEnd - virtBase) / 4096);
  const p2mPages = Math.ceil((n * 4) / 4096);
  const startPfn = p2mPfn + p2mPages;
  const rootPfn = startPfn + 1;
  const leaves = Math.ceil((n + 1) / 1024); // the linear map plus shared info
  const stackPfn = rootPfn + 1 + leaves;
  const firstFree = stackPfn + STACK_PAGES;
  if (firstFree > n) {
    throw new UserError(
      `${o.name}: ${n * 4} KiB is too little for the image and its bootstrap (${
        firstFree * 4
      } KiB)`,
    );
  }
  if ((virtBase + (n + 1) * 4096) > 0x1_0000_0000) {
    throw new UserError(`${o.name}: the domain's memory does not fit above its virtual base`);
  }

  // Frames: the reservation, then shared info (not counted, as Xen's is its own heap page).
  d.maxPages = Math.max(d.maxPages, n);
  const p2m: number[] = [];
  for (let pfn = 0; pfn < n; pfn++) {
    const mfn = k.allocFrame(d);
    if (mfn < 0) throw new UserError(`${o.name}: machine memory is exhausted (${n} frames wanted)`);
    p2m.push(mfn);
    k.frames.m2p[k.frames.index(mfn)] = pfn;
  }
  d.p2m = p2m;
  const f = k.frames;
  const shared = f.alloc(d.id);
  if (shared < 0) throw new UserError(`${o.name}: machine memory is exhausted`);
  const si = f.index(shared);
  f.type[si] = PGT.shared;
  f.typeCount[si] = 1;
  k.setSharedInfo(d, shared);

  const bus = k.bus;
  const ramOff = (pfn: number, off = 0) => (p2m[pfn] - f.base) * 4096 + off;
  const va = (pfn: number) => (virtBase + pfn * 4096) >>> 0;
  const u32 = (pfn: number, off: number, v: number) => {
    bus.i32[ramOff(pfn, off) >> 2] = v | 0;
  };
  // The image, page by page (guest frames need not be machine-contiguous).
  for (const s of elf.segments) {
    for (let i = 0; i < s.data.length; i++) {
      const a = s.vaddr + i - virtBase;
      bus.u8[ramOff(a >>> 12, a & 0xfff)] = s.data[i];
    }
  }
  for (let pfn = 0; pfn < n; pfn++) u32(p2mPfn + (pfn >>> 10), (pfn & 1023) * 4, p2m[pfn]);

  // Start info.
  const at = START_INFO.at;
  const enc = new TextEncoder().encode(START_MAGIC);
  bus.u8.set(enc, ramOff(startPfn, at.magic));
  u32(startPfn, at.nr_pages, n);
  u32(startPfn, at.shared_info, shared * 4096);
  u32(startPfn, at.shared_info_va, va(n));
  u32(startPfn, at.flags, o.flags);
  u32(startPfn, at.pt_base, va(rootPfn));
  u32(startPfn, at.nr_pt_frames, 1 + leaves);
  u32(startPfn, at.mfn_list, va(p2mPfn));
  u32(startPfn, at.first_free_pfn, firstFree);
  u32(startPfn, at.domid, d.id);
  u32(startPfn, at.nr_vcpus, d.vcpus.length);
  u32(startPfn, at.virt_base, virtBase);
  u32(startPfn, at.link_dom, DOMID_INVALID);
  u32(startPfn, at.link_role, LINK.none);
  bus.u8.set(cmd, ramOff(startPfn, at.cmd_line));

  // Page tables. The builder writes them directly (it is trusted, as Xen's is), then pins
  // the root, which validates every entry by the same rules as any guest update.
  const isTable = (pfn: number) => pfn >= rootPfn && pfn < rootPfn + 1 + leaves;
  const inImage = (pfn: number) => pfn < p2mPfn;
  const rootVpn = virtBase >>> 22;
  for (let l = 0; l < leaves; l++) {
    u32(rootPfn, (rootVpn + l) * 4, (p2m[rootPfn + 1 + l] << 10) | PTE.V);
  }
  const leaf = (slot: number, mfn: number, flags: number) => {
    u32(rootPfn + 1 + (slot >>> 10), (slot & 1023) * 4, (mfn << 10) | flags);
  };
  const A = PTE.V | PTE.R | PTE.A;
  for (let pfn = 0; pfn < n; pfn++) {
    let flags = A;
    if (!isTable(pfn)) flags |= PTE.W | PTE.D;
    if (inImage(pfn)) flags |= PTE.X;
    leaf(pfn, p2m[pfn], flags);
  }
  leaf(n, shared, A | PTE.W | PTE.D);
  const root = p2m[rootPfn];
  const pinned = rules.pin(d, root, 2);
  if (pinned < 0) {
    throw new Error(`${o.name}: the builder's own tables fail validation (${pinned})`);
  }

  // vCPU 0 enters the kernel with paging on.
  const v = d.vcpus[0];
  const r = rules.newBase(v, root);
  if (r < 0) throw new Error(`${o.name}: the builder's root is refused (${r})`);
  const h = v.hart;
  h.satp = (0x80000000 | root) | 0;
  h.pc = elf.entry | 0;
  h.x[2] = va(stackPfn + STACK_PAGES) | 0;
  h.x[10] = va(startPfn) | 0;
  h.updateContext();
  h.flushTlb();
  v.initialised = true;
  return { entry: elf.entry, virtBase, startInfo: p2m[startPfn] * 4096, root, firstFree };
}

/** Records a configured link in a built domain's start info. */
export function writeLink(
  k: KernelView,
  startInfo: number,
  peer: number,
  port: number,
  role: number,
): void {
  const at = START_INFO.at, bus = k.bus;
  const off = startInfo - bus.ramBase;
  bus.i32[(off + at.link_dom) >> 2] = peer;
  bus.i32[(off + at.link_port) >> 2] = port;
  bus.i32[(off + at.link_role) >> 2] = role;
}
