# A RAM block device for littlefs (the extended block protocol, as in MicroPython's
# tests/extmod/vfs_lfs*.py), with a power-cut switch: after `fail_after` more
# block writes or erases, every further one raises, as if power were lost mid-way.
# With `torn` set, the write (or erase) that meets the cut is left half done, as a
# NOR flash page program or sector erase interrupted by a brown-out.
# It counts what a flash wears on: bytes programmed, and erases per block.
import micropython


class PowerCut(OSError):
    pass


_BLANKS = {}


def _blank(n):
    b = _BLANKS.get(n)
    if b is None:
        b = _BLANKS[n] = b"\xff" * n
    return b


# Viper (native code, on the unix and ESP32 ports): a copy that allocates nothing.
@micropython.viper
def _copy(dst, src, addr: int, n: int):
    d = ptr8(dst)  # noqa: F821 (ptr8 is a viper built-in)
    s = ptr8(src)  # noqa: F821
    i = 0
    while i < n:
        d[i] = s[addr + i]
        i += 1


class RAMBlockDev:
    ERASE_BLOCK_SIZE = 4096  # as the ESP32 vfs partition

    def __init__(self, blocks, block_size=ERASE_BLOCK_SIZE, data=None):
        self.block_size = block_size
        # `data` given: the same flash seen through a new device (after a power cut)
        self.data = bytearray(blocks * block_size) if data is None else data
        self.writes = 0
        self.fail_after = None
        self.torn = False
        self.tripped = False  # the cut happened (littlefs may turn it into any OSError)
        self.prog_bytes = 0
        self.erases = [0] * blocks
        # Allocated once: littlefs may erase from a gc finaliser, where the heap is locked.
        self._blank = _blank(block_size)
        self._exc = PowerCut(5)  # raised from finalisers too, where nothing may be allocated

    def _cut(self):
        return self.fail_after is not None and self.writes >= self.fail_after

    def readblocks(self, block, buf, off=0):
        # Copied without allocating: littlefs reads in pieces of 128 bytes or less, and a
        # slice object for each read was most of the time of long runs (profiled: the
        # allocator, in journal_bench.py and mp_journal_corrupt.py); it also works in a gc
        # finaliser (an unclosed file), where the heap is locked.
        _copy(buf, self.data, block * self.block_size + off, len(buf))

    def writeblocks(self, block, buf, off=None):
        if off is None:
            # Old protocol: erase then write whole blocks.
            off = 0
        addr = block * self.block_size + off
        n = len(buf)
        if self._cut():
            if self.torn:
                h = n // 2
                self.data[addr:addr + h] = memoryview(buf)[:h]
            self.tripped = True
            raise self._exc
        self.writes += 1
        self.prog_bytes += n
        self.data[addr:addr + n] = buf

    def ioctl(self, op, arg):
        if op == 4:  # block count
            return len(self.data) // self.block_size
        if op == 5:  # block size
            return self.block_size
        if op == 6:  # erase
            addr = arg * self.block_size
            if self._cut():
                if self.torn:
                    h = self.block_size // 2
                    self.data[addr:addr + h] = self._blank[:h]
                self.tripped = True
                raise self._exc
            self.writes += 1
            self.erases[arg] += 1
            self.data[addr:addr + self.block_size] = self._blank
            return 0
        return 0


def reborn(dev):
    """The same flash as a new device, after a power cut. The old device stays dead
    (every write fails, nothing lands), so a finaliser of the old filesystem's files
    cannot touch the flash."""
    dev.fail_after = 0
    dev.torn = False
    new = RAMBlockDev(len(dev.erases), dev.block_size, dev.data)
    new.writes = dev.writes
    new.prog_bytes = dev.prog_bytes
    new.erases = dev.erases
    return new


def mount_fresh(blocks=64, path="/ram"):
    """A newly formatted littlefs v2 on RAM, mounted at path. Returns the device."""
    import vfs

    bdev = RAMBlockDev(blocks)
    vfs.VfsLfs2.mkfs(bdev)
    vfs.mount(vfs.VfsLfs2(bdev), path)
    return bdev


def umount(path="/ram"):
    import vfs

    try:
        vfs.umount(path)
    except OSError:
        pass


def on_fresh(path, blocks=64):
    """Decorator: the test runs with a fresh littlefs of blocks mounted at path, unmounted after."""
    def deco(fn):
        def wrapped():
            mount_fresh(blocks, path)
            try:
                fn()
            finally:
                umount(path)
        return wrapped
    return deco
