/**
 * Generates the C header of the PV ABI (`guests/include/belowzero.h`) from `kernel/abi.ts`
 * (DESIGN §6: "the layouts are defined once in `kernel/` and the C header is generated from
 * them"). Every structure gets static assertions on its size and field offsets, so a guest
 * built against a stale header fails to compile instead of misreading memory.
 */

import {
  CONSTANT_GROUPS,
  CONSTANTS,
  type Field,
  type Layout,
  LAYOUTS,
  NOTE,
  NOTE_NAME,
} from "./abi.ts";

const C_TYPES = { u8: "uint8_t", u16: "uint16_t", u32: "uint32_t", u64: "uint64_t", char: "char" };

function cType(f: Field): string {
  return typeof f.type === "string" ? C_TYPES[f.type] : `struct bz_${f.type.name}`;
}

function struct(l: Layout): string {
  const lines = [`/* ${l.doc} */`, `struct bz_${l.name} {`];
  let end = 0;
  let pad = 0;
  for (const f of l.fields) {
    if (f.offset > end) lines.push(`  uint8_t _pad${pad++}[${f.offset - end}];`);
    const arr = f.count === 1 ? "" : `[${f.count}]`;
    lines.push(`  ${cType(f)} ${f.name}${arr};${f.doc ? ` /* ${f.doc} */` : ""}`);
    const size = typeof f.type === "string"
      ? { u8: 1, u16: 2, u32: 4, u64: 8, char: 1 }[f.type]
      : f.type.size;
    end = f.offset + size * f.count;
  }
  if (l.size > end) lines.push(`  uint8_t _pad${pad++}[${l.size - end}];`);
  lines.push("};");
  lines.push(`_Static_assert(sizeof(struct bz_${l.name}) == ${l.size}, "bz_${l.name} size");`);
  for (const f of l.fields) {
    lines.push(
      `_Static_assert(__builtin_offsetof(struct bz_${l.name}, ${f.name}) == ${f.offset}, ` +
        `"bz_${l.name}.${f.name}");`,
    );
  }
  return lines.join("\n");
}

/** The text of `guests/include/belowzero.h`. */
export function abiHeader(): string {
  const out: string[] = [
    "/* The belowzero PV ABI (DESIGN §6). Generated from kernel/abi.ts by kernel/abi_header.ts:",
    " * do not edit; run `deno task guests` to regenerate. */",
    "#ifndef BELOWZERO_ABI_H",
    "#define BELOWZERO_ABI_H",
    "",
    "#include <stdint.h>",
    "",
  ];
  for (const [name, v] of Object.entries(CONSTANTS)) out.push(`#define ${name} ${v}`);
  for (const [prefix, group] of CONSTANT_GROUPS) {
    out.push("");
    for (const [name, v] of Object.entries(group)) out.push(`#define ${prefix}${name} ${v}`);
  }
  out.push("");
  for (const l of LAYOUTS) out.push(struct(l), "");
  const nameLen = NOTE_NAME.length + 1;
  const padded = Math.ceil(nameLen / 4) * 4;
  out.push(
    "/* Marks the image as a PV kernel: BZ_ELF_NOTE(BZ_NOTE_ABI_VERSION, BZ_ABI_VERSION) and",
    " * BZ_ELF_NOTE(BZ_NOTE_VIRT_BASE, address of guest frame 0), once each, at file scope. */",
    "#define BZ_ELF_NOTE(type, value) \\",
    '  __attribute__((section(".note.belowzero"), used, aligned(4))) \\',
    `  static const struct { uint32_t namesz, descsz, kind; char name[${padded}]; uint32_t desc; } \\`,
    `  bz_note_##type = { ${nameLen}, 4, type, "${NOTE_NAME}", (value) }`,
    "",
    "/* A hypercall: a7 = number, a0-a5 = arguments, result in a0 (negative: -errno). */",
    "static inline long bz_hypercall(long nr, long a0, long a1, long a2, long a3, long a4) {",
    '  register long r_a0 asm("a0") = a0;',
    '  register long r_a1 asm("a1") = a1;',
    '  register long r_a2 asm("a2") = a2;',
    '  register long r_a3 asm("a3") = a3;',
    '  register long r_a4 asm("a4") = a4;',
    '  register long r_a7 asm("a7") = nr;',
    '  asm volatile("ecall" : "+r"(r_a0) : "r"(r_a1), "r"(r_a2), "r"(r_a3), "r"(r_a4), "r"(r_a7) : "memory");',
    "  return r_a0;",
    "}",
    "",
    `#define BZ_NOTE_NAME "${NOTE_NAME}"`,
    `_Static_assert(BZ_NOTE_ABI_VERSION == ${NOTE.ABI_VERSION}, "note type");`,
    "",
    "#endif",
    "",
  );
  return out.join("\n");
}
