/*
 * sieve.c — CPU benchmark: the sieve of Eratosthenes up to 40,000,000 over a bit array of odd
 * numbers (2.4 MiB), then counts the primes a word at a time. Self-check: pi(x), the number of
 * primes up to x, at every power of ten against the known values (4, 25, 168, ..., 664579).
 */
#include "rt.h"

#define LIMIT 40000000u
#define BITS ((LIMIT + 1) / 2) /* bit i stands for the odd number 2i + 1 */

static u32 composite[(BITS + 31) / 32];

static inline int is_composite(u32 i) { return (composite[i >> 5] >> (i & 31)) & 1; }

static void sieve(void) {
  memset(composite, 0, sizeof composite);
  composite[0] = 1; /* 1 is not prime */
  for (u32 p = 3; p * p <= LIMIT; p += 2) {
    if (is_composite(p >> 1)) continue;
    /* Start at p*p; step 2p so only odd multiples are visited. */
    for (u32 m = p * p; m <= LIMIT; m += 2 * p) composite[m >> 6] |= 1u << ((m >> 1) & 31);
  }
}

/* Set bits in x, SWAR style (RV32IMAC has no popcount instruction). */
static u32 popcount(u32 x) {
  x = x - ((x >> 1) & 0x55555555u);
  x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
  x = (x + (x >> 4)) & 0x0f0f0f0fu;
  return (x * 0x01010101u) >> 24;
}

/* pi(x): 2, plus the odd numbers 2i + 1 <= x whose bit i is clear, counted a word at a time. */
static u32 prime_count(u32 x) {
  u32 last = (x - 1) / 2, words = last / 32, count = 1;
  for (u32 w = 0; w < words; w++) count += 32 - popcount(composite[w]);
  u32 tail = last % 32 + 1; /* bits 0..last%32 of the last word */
  u32 mask = tail == 32 ? ~0u : (1u << tail) - 1;
  return count + tail - popcount(composite[words] & mask);
}

int main(void) {
  static const u32 known[] = {4, 25, 168, 1229, 9592, 78498, 664579};
  printf("sieve: primes up to %u\n", LIMIT);
  sieve();

  int bad = 0;
  u32 x = 10;
  for (u32 k = 0; k < sizeof known / sizeof known[0]; k++, x *= 10) {
    u32 count = prime_count(x);
    printf("sieve: pi(%u) = %u%s\n", x, count, count == known[k] ? "" : "  WRONG");
    bad += count != known[k];
  }
  if (bad) {
    printf("sieve: FAIL\n");
    return 1;
  }
  printf("sieve: ok\n");
  return 0;
}
