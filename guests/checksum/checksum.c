/*
 * checksum.c — CPU benchmark: CRC-32 (the IEEE 802.3 / zlib polynomial, reflected) over a
 * pseudo-random buffer fed through it many times, table-driven, as zlib's simple variant
 * does. Self-checks: the standard check value CRC-32("123456789") = 0xcbf43926, the table
 * against a bitwise CRC, and the final CRC against a value computed independently on the host
 * (Python's zlib.crc32 over the same bytes).
 */
#include "rt.h"

#define POLY 0xedb88320u /* 0x04c11db7 bit-reversed */
#define BUF_SIZE (64 * 1024)
#define PASSES 512
#define EXPECTED 0x33ffc8b4u /* zlib.crc32(buf * PASSES), see README */

static u8 buf[BUF_SIZE];
static u32 table[256];

/* CRC-32 one bit at a time: slow, obviously right, used to check the table. */
static u32 crc32_bitwise(u32 crc, const u8 *p, u32 n) {
  while (n--) {
    crc ^= *p++;
    for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (POLY & (0u - (crc & 1)));
  }
  return crc;
}

static void make_table(void) {
  for (u32 i = 0; i < 256; i++) {
    u32 c = i;
    for (int k = 0; k < 8; k++) c = (c >> 1) ^ (POLY & (0u - (c & 1)));
    table[i] = c;
  }
}

/* One table lookup per byte: the benchmark's inner loop. */
static u32 crc32_update(u32 crc, const u8 *p, u32 n) {
  while (n--) crc = (crc >> 8) ^ table[(crc ^ *p++) & 0xff];
  return crc;
}

int main(void) {
  make_table();
  static const char check[] = "123456789";
  u32 c1 = ~crc32_update(~0u, (const u8 *)check, 9);
  u32 c2 = ~crc32_bitwise(~0u, (const u8 *)check, 9);
  printf("checksum: crc32(\"123456789\") = 0x%08x (table), 0x%08x (bitwise)\n", c1, c2);
  if (c1 != 0xcbf43926u || c2 != 0xcbf43926u) {
    printf("checksum: check value wrong: FAIL\n");
    return 1;
  }

  u32 seed = 0x12345678;
  for (u32 i = 0; i < BUF_SIZE; i += 4) {
    u32 v = xorshift32(&seed);
    buf[i] = (u8)v;
    buf[i + 1] = (u8)(v >> 8);
    buf[i + 2] = (u8)(v >> 16);
    buf[i + 3] = (u8)(v >> 24);
  }
  u32 crc = ~0u;
  for (int pass = 0; pass < PASSES; pass++) crc = crc32_update(crc, buf, BUF_SIZE);
  crc = ~crc;
  printf("checksum: crc32 of %u KiB x %d passes = 0x%08x\n", BUF_SIZE / 1024, PASSES, crc);
  if (crc != EXPECTED) {
    printf("checksum: expected 0x%08x: FAIL\n", EXPECTED);
    return 1;
  }
  printf("checksum: ok\n");
  return 0;
}
