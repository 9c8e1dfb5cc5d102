/*
 * sort.c — CPU benchmark: sorts pseudo-random 32-bit keys twice, with quicksort (median of
 * three, insertion sort for short runs, recursion on the smaller side) and with heapsort,
 * then checks both results are ordered, agree, and match a checksum computed on the host.
 */
#include "rt.h"

#define N 640000
#define EXPECTED 0x0b9cd69bu /* FNV-1a over the sorted keys' bytes, computed on the host (README) */

static u32 a[N], b[N];

static void insertion_sort(u32 *v, int lo, int hi) {
  for (int i = lo + 1; i <= hi; i++) {
    u32 x = v[i];
    int j = i - 1;
    while (j >= lo && v[j] > x) {
      v[j + 1] = v[j];
      j--;
    }
    v[j + 1] = x;
  }
}

static inline void swap(u32 *v, int i, int j) {
  u32 t = v[i];
  v[i] = v[j];
  v[j] = t;
}

/* Quicksort of v[lo..hi]; recursing on the smaller part bounds the stack at log2(N) frames. */
static void quicksort(u32 *v, int lo, int hi) {
  while (hi - lo > 16) {
    int mid = lo + (hi - lo) / 2;
    if (v[mid] < v[lo]) swap(v, mid, lo);
    if (v[hi] < v[lo]) swap(v, hi, lo);
    if (v[hi] < v[mid]) swap(v, hi, mid);
    u32 pivot = v[mid];
    int i = lo, j = hi;
    while (i <= j) {
      while (v[i] < pivot) i++;
      while (v[j] > pivot) j--;
      if (i <= j) swap(v, i++, j--);
    }
    if (j - lo < hi - i) {
      quicksort(v, lo, j);
      lo = i;
    } else {
      quicksort(v, i, hi);
      hi = j;
    }
  }
  insertion_sort(v, lo, hi);
}

static void sift_down(u32 *v, int root, int n) {
  u32 x = v[root];
  for (;;) {
    int child = 2 * root + 1;
    if (child >= n) break;
    if (child + 1 < n && v[child + 1] > v[child]) child++;
    if (v[child] <= x) break;
    v[root] = v[child];
    root = child;
  }
  v[root] = x;
}

static void heapsort(u32 *v, int n) {
  for (int i = n / 2 - 1; i >= 0; i--) sift_down(v, i, n);
  for (int end = n - 1; end > 0; end--) {
    swap(v, 0, end);
    sift_down(v, 0, end);
  }
}

static int is_sorted(const u32 *v, int n) {
  for (int i = 1; i < n; i++)
    if (v[i - 1] > v[i]) return 0;
  return 1;
}

/* FNV-1a, 32-bit, over the keys' little-endian bytes. */
static u32 fnv1a(const u32 *v, int n) {
  u32 h = 0x811c9dc5u;
  for (int i = 0; i < n; i++)
    for (int k = 0; k < 32; k += 8) h = (h ^ ((v[i] >> k) & 0xff)) * 0x01000193u;
  return h;
}

int main(void) {
  u32 seed = 0x2545f491u;
  for (int i = 0; i < N; i++) a[i] = b[i] = xorshift32(&seed);
  printf("sort: %d pseudo-random keys\n", N);

  quicksort(a, 0, N - 1);
  heapsort(b, N);
  int qs = is_sorted(a, N), hs = is_sorted(b, N), same = memcmp(a, b, sizeof a) == 0;
  u32 h = fnv1a(a, N);
  printf("sort: quicksort %s, heapsort %s, results %s\n", qs ? "sorted" : "NOT sorted",
         hs ? "sorted" : "NOT sorted", same ? "agree" : "DIFFER");
  printf("sort: min 0x%08x, median 0x%08x, max 0x%08x, fnv1a 0x%08x\n", a[0], a[N / 2], a[N - 1],
         h);
  if (!qs || !hs || !same || h != EXPECTED) {
    printf("sort: expected fnv1a 0x%08x: FAIL\n", EXPECTED);
    return 1;
  }
  printf("sort: ok\n");
  return 0;
}
