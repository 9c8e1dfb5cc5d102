/*
 * bytecode.c — CPU benchmark: a small stack-machine bytecode interpreter, the kind of
 * dispatch loop found in scripting-language VMs. A tiny assembler builds two programs, a
 * recursive Fibonacci and a multiply-xor loop over locals; the interpreter runs them and the
 * results are checked against the same computations in C.
 */
#include "rt.h"

#define FIB_N 27
#define LOOP_N 800000

/* Opcodes. Operands follow the opcode byte: i32 little-endian, u16 address or u8 local. */
enum {
  OP_HALT,  /* stop; the result is the top of the stack */
  OP_PUSH,  /* i32: push a constant */
  OP_LOAD,  /* u8: push a local of the current frame */
  OP_STORE, /* u8: pop into a local */
  OP_ADD,
  OP_SUB,
  OP_MUL,
  OP_XOR,
  OP_LT,   /* pop b, a; push a < b (signed) */
  OP_JMP,  /* u16: jump */
  OP_JZ,   /* u16: pop; jump if zero */
  OP_CALL, /* u16: pop one argument into local 0 of a new frame and jump */
  OP_RET,  /* pop the result, drop the frame, push the result, return */
};

#define STACK 256
#define FRAMES 64
#define LOCALS 4

struct frame {
  u32 ret;
  i32 locals[LOCALS];
};

static i32 stack[STACK];
static struct frame frames[FRAMES];
static u32 dispatched; /* bytecodes executed, for the report */

/* Runs `code` from `pc` with a fresh frame; returns the value on top of the stack at HALT. */
static i32 run(const u8 *code, u32 pc) {
  i32 *sp = stack; /* sp points one past the top */
  struct frame *fp = frames;
  u32 count = 0;
  for (;;) {
    count++;
    u8 op = code[pc++];
    switch (op) {
      case OP_HALT:
        dispatched += count;
        return sp[-1];
      case OP_PUSH:
        *sp++ = (i32)(code[pc] | code[pc + 1] << 8 | code[pc + 2] << 16 | (u32)code[pc + 3] << 24);
        pc += 4;
        break;
      case OP_LOAD:
        *sp++ = fp->locals[code[pc++]];
        break;
      case OP_STORE:
        fp->locals[code[pc++]] = *--sp;
        break;
      case OP_ADD:
        sp--;
        sp[-1] = (i32)((u32)sp[-1] + (u32)sp[0]);
        break;
      case OP_SUB:
        sp--;
        sp[-1] = (i32)((u32)sp[-1] - (u32)sp[0]);
        break;
      case OP_MUL:
        sp--;
        sp[-1] = (i32)((u32)sp[-1] * (u32)sp[0]);
        break;
      case OP_XOR:
        sp--;
        sp[-1] ^= sp[0];
        break;
      case OP_LT:
        sp--;
        sp[-1] = sp[-1] < sp[0];
        break;
      case OP_JMP:
        pc = code[pc] | code[pc + 1] << 8;
        break;
      case OP_JZ:
        pc = *--sp == 0 ? (u32)(code[pc] | code[pc + 1] << 8) : pc + 2;
        break;
      case OP_CALL:
        if (fp == &frames[FRAMES - 1]) {
          printf("bytecode: frame stack overflow\n");
          exit(2);
        }
        fp++;
        fp->ret = pc + 2;
        fp->locals[0] = *--sp;
        pc = code[pc] | code[pc + 1] << 8;
        break;
      case OP_RET:
        pc = fp->ret;
        fp--;
        break; /* the result stays on top of the stack */
      default:
        printf("bytecode: bad opcode %u at %u\n", op, pc - 1);
        exit(2);
    }
    if (sp > stack + STACK - 4) {
      printf("bytecode: operand stack overflow\n");
      exit(2);
    }
  }
}

/* The assembler: emits into `code`; labels are patched once their address is known. */
static u8 code[512];
static u32 here;

static void op(u8 o) { code[here++] = o; }
static void op_i32(u8 o, i32 v) {
  op(o);
  for (int k = 0; k < 32; k += 8) code[here++] = (u8)((u32)v >> k);
}
static void op_u8(u8 o, u8 v) {
  op(o);
  code[here++] = v;
}
/* Emits a jump or call to `target`; returns the operand's position for a later patch. */
static u32 op_addr(u8 o, u32 target) {
  op(o);
  code[here] = (u8)target;
  code[here + 1] = (u8)(target >> 8);
  here += 2;
  return here - 2;
}
static void patch(u32 at, u32 target) {
  code[at] = (u8)target;
  code[at + 1] = (u8)(target >> 8);
}

/* fib(n) = n < 2 ? n : fib(n - 1) + fib(n - 2); returns fib's entry address. */
static u32 assemble_fib(void) {
  u32 fib = here;
  op_u8(OP_LOAD, 0);
  op_i32(OP_PUSH, 2);
  op(OP_LT);
  u32 recurse = op_addr(OP_JZ, 0);
  op_u8(OP_LOAD, 0);
  op(OP_RET);
  patch(recurse, here);
  op_u8(OP_LOAD, 0);
  op_i32(OP_PUSH, 1);
  op(OP_SUB);
  op_addr(OP_CALL, fib);
  op_u8(OP_LOAD, 0);
  op_i32(OP_PUSH, 2);
  op(OP_SUB);
  op_addr(OP_CALL, fib);
  op(OP_ADD);
  op(OP_RET);
  return fib;
}

/* i = 0; acc = 1; while (i < n) { acc = acc * 31 ^ i; i = i + 1 } -> acc */
static u32 assemble_loop(i32 n) {
  u32 start = here;
  op_i32(OP_PUSH, 0);
  op_u8(OP_STORE, 0);
  op_i32(OP_PUSH, 1);
  op_u8(OP_STORE, 1);
  u32 loop = here;
  op_u8(OP_LOAD, 0);
  op_i32(OP_PUSH, n);
  op(OP_LT);
  u32 done = op_addr(OP_JZ, 0);
  op_u8(OP_LOAD, 1);
  op_i32(OP_PUSH, 31);
  op(OP_MUL);
  op_u8(OP_LOAD, 0);
  op(OP_XOR);
  op_u8(OP_STORE, 1);
  op_u8(OP_LOAD, 0);
  op_i32(OP_PUSH, 1);
  op(OP_ADD);
  op_u8(OP_STORE, 0);
  op_addr(OP_JMP, loop);
  patch(done, here);
  op_u8(OP_LOAD, 1);
  op(OP_HALT);
  return start;
}

int main(void) {
  u32 fib = assemble_fib();
  u32 fib_main = here;
  op_i32(OP_PUSH, FIB_N);
  op_addr(OP_CALL, fib);
  op(OP_HALT);
  u32 loop_main = assemble_loop(LOOP_N);
  printf("bytecode: %u bytes of bytecode assembled\n", here);

  u32 fib_expected = 0, next = 1;
  for (int i = 0; i < FIB_N; i++) {
    u32 t = fib_expected + next;
    fib_expected = next;
    next = t;
  }
  u32 acc_expected = 1;
  for (u32 i = 0; i < LOOP_N; i++) acc_expected = acc_expected * 31 ^ i;

  dispatched = 0;
  u32 f = (u32)run(code, fib_main);
  u32 fib_ops = dispatched;
  dispatched = 0;
  u32 acc = (u32)run(code, loop_main);
  u32 loop_ops = dispatched;

  printf("bytecode: fib(%d) = %u (%u bytecodes)%s\n", FIB_N, f, fib_ops,
         f == fib_expected ? "" : "  WRONG");
  printf("bytecode: loop(%d) = 0x%08x (%u bytecodes)%s\n", LOOP_N, acc, loop_ops,
         acc == acc_expected ? "" : "  WRONG");
  if (f != fib_expected || acc != acc_expected) {
    printf("bytecode: FAIL\n");
    return 1;
  }
  printf("bytecode: ok\n");
  return 0;
}
