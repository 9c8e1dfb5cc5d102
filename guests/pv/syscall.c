/*
 * syscall.c — the PV kernel's system calls (numbers in user.h). Arguments come from the
 * trapped process's registers in its trap frame, and the result goes back into its a0.
 * User pointers are checked against the process's own mappings before use.
 */
#include "proc.h"
#include "user.h"

#define MAX_WRITE 128

static int sys_write(u32 va, u32 len) {
  if (len > MAX_WRITE) return -BZ_EINVAL;
  const char *buf = proc_user_ptr(va, len);
  if (!buf) return -BZ_EFAULT;
  int rc = console_write(buf, len);
  return rc < 0 ? rc : (int)len;
}

/* A new process may start only at an address inside the shared user code. */
static int sys_spawn(u32 entry, u32 a0, u32 a1) {
  if (entry < USER_TEXT || entry >= USER_TEXT + (u32)(__user_end - __user_start))
    return -BZ_EFAULT;
  struct proc *p = proc_spawn(entry, a0, a1, 0);
  return p ? (int)p->pid : -BZ_EAGAIN;
}

void syscall(struct frame *f) {
  u32 a0 = REG(f, R_A0), a1 = REG(f, R_A1), a2 = REG(f, R_A2);
  int rc = 0;
  f->pc += 4; /* resume after the ecall (always 4 bytes: there is no compressed ecall) */
  switch (REG(f, R_A7)) {
    case SYS_write: rc = sys_write(a0, a1); break;
    case SYS_getpid: rc = (int)proc_pid(); break;
    case SYS_yield: proc_yield(); break;
    case SYS_sleep: proc_sleep(a0); break;
    case SYS_exit: proc_exit((int)a0);
    case SYS_spawn: rc = sys_spawn(a0, a1, a2); break;
    default: rc = -BZ_ENOSYS; break;
  }
  REG(f, R_A0) = (u32)rc;
}
