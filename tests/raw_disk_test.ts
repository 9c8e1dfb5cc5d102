import assert from "node:assert/strict";
import { MemoryDisk, openRawDisk } from "../devices/raw_disk.ts";
import { UserError } from "../vmm/errors.ts";

function tempImage(bytes: Uint8Array): string {
  const path = Deno.makeTempFileSync({ suffix: ".img" });
  Deno.writeFileSync(path, bytes);
  return path;
}

Deno.test("raw disk: reads and writes in place, flushes", () => {
  const init = new Uint8Array(4 * 512).map((_, i) => i & 0xff);
  const path = tempImage(init);
  try {
    const disk = openRawDisk(path, {});
    assert.equal(disk.size, 2048);
    assert.equal(disk.readOnly, false);
    assert.equal(disk.path, path);
    const buf = new Uint8Array(600);
    disk.read(700, buf);
    assert.deepEqual(buf, init.subarray(700, 1300));
    disk.write(1024, new Uint8Array(512).fill(0xab));
    disk.flush();
    disk.close();
    const after = Deno.readFileSync(path);
    assert.equal(after.length, 2048, "the image never grows");
    assert.deepEqual(after.subarray(1024, 1536), new Uint8Array(512).fill(0xab));
    assert.deepEqual(after.subarray(0, 1024), init.subarray(0, 1024));
  } finally {
    Deno.removeSync(path);
  }
});

Deno.test("raw disk: read-only images refuse writes and stay unchanged", () => {
  const init = new Uint8Array(1024).fill(7);
  const path = tempImage(init);
  try {
    const disk = openRawDisk(path, { readOnly: true });
    assert.equal(disk.readOnly, true);
    assert.throws(() => disk.write(0, new Uint8Array(512)));
    disk.flush();
    const buf = new Uint8Array(512);
    disk.read(512, buf);
    assert.deepEqual(buf, init.subarray(512));
    disk.close();
    assert.deepEqual(Deno.readFileSync(path), init);
  } finally {
    Deno.removeSync(path);
  }
});

Deno.test("raw disk: accesses outside the image are bugs (RangeError)", () => {
  const path = tempImage(new Uint8Array(512));
  try {
    const disk = openRawDisk(path);
    assert.throws(() => disk.read(256, new Uint8Array(512)), RangeError);
    assert.throws(() => disk.write(-1, new Uint8Array(1)), RangeError);
    disk.close();
  } finally {
    Deno.removeSync(path);
  }
});

Deno.test("raw disk: user mistakes are one-line UserErrors naming the file", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const missing = `${dir}/missing.img`;
    assert.throws(() => openRawDisk(missing), (e: unknown) => {
      assert.ok(e instanceof UserError);
      assert.equal(e.message, `disk image ${missing}: no such file`);
      return true;
    });
    const odd = `${dir}/odd.img`;
    Deno.writeFileSync(odd, new Uint8Array(1000));
    assert.throws(() => openRawDisk(odd), (e: unknown) => {
      assert.ok(e instanceof UserError);
      assert.equal(e.message, `disk image ${odd}: size 1000 bytes is not a multiple of 512`);
      return true;
    });
    assert.throws(() => openRawDisk(dir, { readOnly: true }), (e: unknown) => {
      assert.ok(e instanceof UserError);
      assert.ok(e.message.startsWith(`disk image ${dir}: `));
      assert.ok(!e.message.includes("\n"));
      return true;
    });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("memory disk: sizes, sharing, read-only, flush count", () => {
  const disk = new MemoryDisk(1024);
  assert.equal(disk.size, 1024);
  disk.write(512, new Uint8Array([1, 2, 3]));
  const buf = new Uint8Array(3);
  disk.read(512, buf);
  assert.deepEqual(buf, new Uint8Array([1, 2, 3]));
  disk.flush();
  assert.equal(disk.flushes, 1);
  assert.throws(() => disk.read(1023, new Uint8Array(2)), RangeError);
  const bytes = new Uint8Array(512).fill(9);
  const shared = new MemoryDisk(bytes, { readOnly: true });
  assert.equal(shared.data, bytes, "given bytes are used, not copied");
  assert.throws(() => shared.write(0, new Uint8Array(1)));
  assert.throws(() => new MemoryDisk(100), RangeError);
});
