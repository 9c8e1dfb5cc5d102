/*
 * matmul.c — CPU benchmark: C = A x B for N x N matrices of 32-bit integers (arithmetic modulo
 * 2^32), the naive triple loop with the i-k-j order that walks rows. Self-checks: Freivalds'
 * test, A(Bx) = Cx for a pseudo-random vector x, which needs no stored answer, and a
 * checksum of C against a value computed on the host.
 */
#include "rt.h"

#define N 356
#define EXPECTED 0x8d17e124u /* FNV-1a over C's words, computed on the host (README) */

static u32 A[N][N], B[N][N], C[N][N];

static void multiply(void) {
  for (int i = 0; i < N; i++) {
    for (int j = 0; j < N; j++) C[i][j] = 0;
    for (int k = 0; k < N; k++) {
      u32 aik = A[i][k];
      for (int j = 0; j < N; j++) C[i][j] += aik * B[k][j];
    }
  }
}

/* y = M v */
static void mat_vec(u32 M[N][N], const u32 *v, u32 *y) {
  for (int i = 0; i < N; i++) {
    u32 s = 0;
    for (int j = 0; j < N; j++) s += M[i][j] * v[j];
    y[i] = s;
  }
}

static u32 fnv1a_words(const u32 *v, int n) {
  u32 h = 0x811c9dc5u;
  for (int i = 0; i < n; i++) h = (h ^ v[i]) * 0x01000193u;
  return h;
}

int main(void) {
  u32 seed = 0x9e3779b9u;
  /* Small entries keep the numbers readable; the sums still wrap, which is intended. */
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) A[i][j] = xorshift32(&seed) & 0xffff;
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) B[i][j] = xorshift32(&seed) & 0xffff;
  printf("matmul: %d x %d integer matrices\n", N, N);

  multiply();

  static u32 x[N], bx[N], abx[N], cx[N];
  for (int i = 0; i < N; i++) x[i] = xorshift32(&seed);
  mat_vec(B, x, bx);
  mat_vec(A, bx, abx);
  mat_vec(C, x, cx);
  int freivalds = memcmp(abx, cx, sizeof cx) == 0;
  u32 h = fnv1a_words(&C[0][0], N * N);
  printf("matmul: C[0][0] = %u, C[%d][%d] = %u, fnv1a 0x%08x\n", C[0][0], N - 1, N - 1,
         C[N - 1][N - 1], h);
  printf("matmul: Freivalds check A(Bx) = Cx %s\n", freivalds ? "holds" : "FAILS");
  if (!freivalds || h != EXPECTED) {
    printf("matmul: expected fnv1a 0x%08x: FAIL\n", EXPECTED);
    return 1;
  }
  printf("matmul: ok\n");
  return 0;
}
