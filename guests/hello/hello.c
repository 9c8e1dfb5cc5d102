/*
 * hello.c — the smallest guest: greets through the UART, prints its hart id and checks that
 * a1 points at a flattened device tree (magic 0xd00dfeed, stored big-endian). Exits 0, or
 * 1 if the magic is wrong.
 */
#include "rt.h"

#define FDT_MAGIC 0xd00dfeedu

/* The device tree header is big-endian; RISC-V is little-endian: read it byte by byte. */
static u32 be32(const u8 *p) {
  return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3];
}

int main(u32 hartid, uptr dtb) {
  printf("Hello from belowzero's RV32 guest!\n");
  printf("hart id: %u\n", hartid);
  if (dtb == 0 || (dtb & 3) != 0) {
    printf("device tree: bad address in a1\n");
    return 1;
  }
  u32 magic = be32((const u8 *)dtb);
  if (magic != FDT_MAGIC) {
    printf("device tree: magic 0x%08x, expected 0x%08x: FAIL\n", magic, FDT_MAGIC);
    return 1;
  }
  printf("device tree: magic 0x%08x ok\n", magic);
  return 0;
}
