/**
 * Pieces of assembly the shadow-paging tests share (`trap`, `bt`, and `hw` with shadow
 * paging): Sv32 tables in which VA 0x40000000 maps page A, and the sequence that reads it,
 * remaps it to page B, stores through it and unmaps it, so a shadow that failed to follow
 * the guest's table writes shows in its registers.
 */

/**
 * Builds the tables at `root` and `leaf` (s0 = root, s1 = leaf): the megapage at 0x80000000
 * one to one (RWX, A/D: code, data and the tables themselves), and leaf[0] = page A (RW).
 */
export const MAP_PAGE_A = `
  la s0, root
  li t0, 0x200000cf
  li t3, 0x800
  add t3, s0, t3
  sw t0, 0(t3)
  la s1, leaf
  srli t0, s1, 12
  slli t0, t0, 10
  ori t0, t0, 1
  sw t0, 0x400(s0)            # root[0x100] -> leaf (VA 0x40000000)
  la t2, pagea
  srli t0, t2, 12
  slli t0, t0, 10
  ori t0, t0, 0xc7
  sw t0, 0(s1)                # leaf[0] = page A`;

/**
 * With paging on: s2 = page A's word, s3 = page B's after the guest rewrites its PTE (and
 * sfence.vma), 0x99 stored through the new mapping into page B's second word, then the
 * entry cleared, so the last load (into s4) is the guest's own page fault.
 */
export const REMAP_A_TO_B = `
  li a0, 0x40000000
  lw s2, 0(a0)                # page A's word
  la t2, pageb
  srli t0, t2, 12
  slli t0, t0, 10
  ori t0, t0, 0xc7
  sw t0, 0(s1)                # the guest rewrites its PTE (a traced write)
  sfence.vma
  lw s3, 0(a0)                # page B's word
  li t0, 0x99
  sw t0, 4(a0)                # a store through the new mapping lands in page B
  sw zero, 0(s1)              # unmap
  sfence.vma
  lw s4, 0(a0)                # the guest's own page fault`;

/** The tables and the two pages, page-aligned. */
export const TABLES = `
  .align 12
root: .space 4096
leaf: .space 4096
pagea: .word 0xaaaa
  .space 4092
pageb: .word 0xbbbb
  .space 4092
`;
