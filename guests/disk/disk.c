/*
 * disk.c — a minimal virtio-blk driver over virtio-mmio (virtio 1.2, section 4.2), polled:
 * probes the eight slots for a block device (magic "virt", device id 2), brings it up through
 * either transport — version 1 "legacy" (one queue page frame number) or version 2 "modern"
 * (separate queue addresses, VIRTIO_F_VERSION_1) — reads sector 0 with one three-descriptor
 * request and prints its first 16 bytes as hex and text. No disk: prints "no disk", exit 0.
 */
#include "rt.h"

/* virtio-mmio registers (offsets from the slot's base). */
#define VIRTIO_MAGIC 0x000 /* "virt" = 0x74726976 */
#define VIRTIO_VERSION 0x004 /* 1 legacy, 2 modern */
#define VIRTIO_DEVICE_ID 0x008 /* 0 = empty slot, 2 = block device */
#define VIRTIO_DEVICE_FEATURES 0x010
#define VIRTIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_DRIVER_FEATURES 0x020
#define VIRTIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_GUEST_PAGE_SIZE 0x028 /* legacy only */
#define VIRTIO_QUEUE_SEL 0x030
#define VIRTIO_QUEUE_NUM_MAX 0x034
#define VIRTIO_QUEUE_NUM 0x038
#define VIRTIO_QUEUE_ALIGN 0x03c /* legacy only */
#define VIRTIO_QUEUE_PFN 0x040 /* legacy only */
#define VIRTIO_QUEUE_READY 0x044 /* modern only */
#define VIRTIO_QUEUE_NOTIFY 0x050
#define VIRTIO_INTERRUPT_STATUS 0x060
#define VIRTIO_INTERRUPT_ACK 0x064
#define VIRTIO_STATUS 0x070
#define VIRTIO_QUEUE_DESC_LOW 0x080 /* modern only, as are the next five */
#define VIRTIO_QUEUE_DESC_HIGH 0x084
#define VIRTIO_QUEUE_DRIVER_LOW 0x090
#define VIRTIO_QUEUE_DRIVER_HIGH 0x094
#define VIRTIO_QUEUE_DEVICE_LOW 0x0a0
#define VIRTIO_QUEUE_DEVICE_HIGH 0x0a4
#define VIRTIO_CONFIG 0x100 /* virtio-blk: capacity in 512-byte sectors, 64-bit */

#define MAGIC 0x74726976u
#define DEVICE_BLOCK 2

/* Device status bits. */
#define STATUS_ACKNOWLEDGE 1
#define STATUS_DRIVER 2
#define STATUS_DRIVER_OK 4
#define STATUS_FEATURES_OK 8
#define STATUS_FAILED 128

#define VIRTIO_F_VERSION_1_HI 1 /* feature bit 32: bit 0 of the high feature word */

#define QUEUE_SIZE 8
#define PAGE 4096

#define DESC_F_NEXT 1
#define DESC_F_WRITE 2 /* the device writes this buffer */
#define BLK_T_IN 0     /* read */
#define BLK_S_OK 0

struct desc {
  u64 addr;
  u32 len;
  u16 flags;
  u16 next;
};
struct avail {
  u16 flags;
  u16 idx;
  u16 ring[QUEUE_SIZE];
  u16 used_event;
};
struct used_elem {
  u32 id;
  u32 len;
};
struct used {
  u16 flags;
  u16 idx;
  struct used_elem ring[QUEUE_SIZE];
  u16 avail_event;
};

/*
 * The queue in the legacy layout, which also satisfies the modern one: descriptors and the
 * available ring in the first page, the used ring at the next page boundary (QueueAlign).
 */
static struct {
  struct desc desc[QUEUE_SIZE];
  struct avail avail;
  u8 pad[PAGE - sizeof(struct desc) * QUEUE_SIZE - sizeof(struct avail)];
  struct used used;
} queue __attribute__((aligned(PAGE)));

static struct {
  u32 type;
  u32 reserved;
  u64 sector;
} request;
static u8 sector[512];
static volatile u8 status_byte;

static u32 base;
static u32 reg(u32 off) { return mmio_read32(base + off); }
static void set_reg(u32 off, u32 v) { mmio_write32(base + off, v); }

static int fail(const char *why) {
  set_reg(VIRTIO_STATUS, reg(VIRTIO_STATUS) | STATUS_FAILED);
  printf("disk: %s: FAIL\n", why);
  return 1;
}

int main(void) {
  int slot = -1;
  for (int n = 0; n < VIRTIO_COUNT; n++) {
    base = VIRTIO_BASE + n * VIRTIO_STRIDE;
    if (reg(VIRTIO_MAGIC) == MAGIC && reg(VIRTIO_DEVICE_ID) == DEVICE_BLOCK) {
      slot = n;
      break;
    }
  }
  if (slot < 0) {
    printf("disk: no disk\n");
    return 0;
  }
  u32 version = reg(VIRTIO_VERSION);
  printf("disk: virtio-blk in slot %d (virtio-mmio version %u, %s)\n", slot, version,
         version == 1 ? "legacy" : "modern");
  if (version != 1 && version != 2) return fail("unknown transport version");

  /* Initialisation, virtio 1.2 section 3.1: reset, acknowledge, negotiate, set up, go. */
  set_reg(VIRTIO_STATUS, 0);
  set_reg(VIRTIO_STATUS, STATUS_ACKNOWLEDGE);
  set_reg(VIRTIO_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER);
  /* We need no optional feature. A modern device must be told we speak virtio 1.x. */
  set_reg(VIRTIO_DRIVER_FEATURES_SEL, 0);
  set_reg(VIRTIO_DRIVER_FEATURES, 0);
  if (version == 2) {
    set_reg(VIRTIO_DEVICE_FEATURES_SEL, 1);
    if (!(reg(VIRTIO_DEVICE_FEATURES) & VIRTIO_F_VERSION_1_HI))
      return fail("device does not offer VIRTIO_F_VERSION_1");
    set_reg(VIRTIO_DRIVER_FEATURES_SEL, 1);
    set_reg(VIRTIO_DRIVER_FEATURES, VIRTIO_F_VERSION_1_HI);
    set_reg(VIRTIO_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK);
    if (!(reg(VIRTIO_STATUS) & STATUS_FEATURES_OK)) return fail("features not accepted");
  } else {
    set_reg(VIRTIO_GUEST_PAGE_SIZE, PAGE); /* the unit of QueuePFN */
  }

  set_reg(VIRTIO_QUEUE_SEL, 0);
  u32 max = reg(VIRTIO_QUEUE_NUM_MAX);
  if (max < QUEUE_SIZE) return fail("queue 0 too small or absent");
  set_reg(VIRTIO_QUEUE_NUM, QUEUE_SIZE);
  if (version == 1) {
    set_reg(VIRTIO_QUEUE_ALIGN, PAGE);
    set_reg(VIRTIO_QUEUE_PFN, (u32)&queue / PAGE);
  } else {
    set_reg(VIRTIO_QUEUE_DESC_LOW, (u32)&queue.desc);
    set_reg(VIRTIO_QUEUE_DESC_HIGH, 0);
    set_reg(VIRTIO_QUEUE_DRIVER_LOW, (u32)&queue.avail);
    set_reg(VIRTIO_QUEUE_DRIVER_HIGH, 0);
    set_reg(VIRTIO_QUEUE_DEVICE_LOW, (u32)&queue.used);
    set_reg(VIRTIO_QUEUE_DEVICE_HIGH, 0);
    set_reg(VIRTIO_QUEUE_READY, 1);
  }
  set_reg(VIRTIO_STATUS, reg(VIRTIO_STATUS) | STATUS_DRIVER_OK);

  u32 cap_lo = reg(VIRTIO_CONFIG), cap_hi = reg(VIRTIO_CONFIG + 4);
  if (cap_hi) printf("disk: capacity 0x%x%08x sectors\n", cap_hi, cap_lo);
  else printf("disk: capacity %u sectors (%u KiB)\n", cap_lo, cap_lo / 2);
  if (cap_lo == 0 && cap_hi == 0) return fail("empty disk");

  /* One read request: header (device reads), data (device writes), status (device writes). */
  request.type = BLK_T_IN;
  request.sector = 0;
  status_byte = 0xff;
  queue.desc[0] = (struct desc){(u32)&request, sizeof request, DESC_F_NEXT, 1};
  queue.desc[1] = (struct desc){(u32)sector, sizeof sector, DESC_F_WRITE | DESC_F_NEXT, 2};
  queue.desc[2] = (struct desc){(u32)&status_byte, 1, DESC_F_WRITE, 0};
  queue.avail.ring[queue.avail.idx % QUEUE_SIZE] = 0;
  fence(); /* the descriptors before the index that publishes them */
  queue.avail.idx++;
  fence(); /* the index before the doorbell */
  set_reg(VIRTIO_QUEUE_NOTIFY, 0);

  /* Poll the used ring; the bound only guards against a device that never answers. */
  volatile u16 *used_idx = &queue.used.idx;
  u32 spins = 0;
  while (*used_idx == 0) {
    if (++spins == 100000000u) return fail("no answer from the device");
  }
  fence(); /* the data after the index that says it is there */
  set_reg(VIRTIO_INTERRUPT_ACK, reg(VIRTIO_INTERRUPT_STATUS));
  if (status_byte != BLK_S_OK) return fail("read of sector 0 failed");

  printf("disk: sector 0 hex:");
  for (int i = 0; i < 16; i++) printf(" %02x", sector[i]);
  printf("\ndisk: sector 0 text: \"");
  for (int i = 0; i < 16; i++) putchar(sector[i] >= 0x20 && sector[i] < 0x7f ? sector[i] : '.');
  printf("\"\n");
  return 0;
}
