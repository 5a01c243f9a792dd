# A RAM block device for littlefs (the extended block protocol, as in MicroPython's
# tests/extmod/vfs_lfs*.py), with a power-cut switch: after `fail_after` more
# block writes or erases, every further one raises, as if power were lost mid-way.


class PowerCut(OSError):
    pass


class RAMBlockDev:
    ERASE_BLOCK_SIZE = 4096  # as the ESP32 vfs partition

    def __init__(self, blocks, block_size=ERASE_BLOCK_SIZE):
        self.block_size = block_size
        self.data = bytearray(blocks * block_size)
        self.writes = 0
        self.fail_after = None
        # Allocated once: littlefs may erase from a gc finaliser, where the heap is locked.
        self._blank = b"\xff" * block_size

    def _tick(self):
        if self.fail_after is not None:
            if self.writes >= self.fail_after:
                raise PowerCut(5)
        self.writes += 1

    def readblocks(self, block, buf, off=0):
        addr = block * self.block_size + off
        for i in range(len(buf)):
            buf[i] = self.data[addr + i]

    def writeblocks(self, block, buf, off=None):
        self._tick()
        if off is None:
            # Old protocol: erase then write whole blocks.
            off = 0
        addr = block * self.block_size + off
        for i in range(len(buf)):
            self.data[addr + i] = buf[i]

    def ioctl(self, op, arg):
        if op == 4:  # block count
            return len(self.data) // self.block_size
        if op == 5:  # block size
            return self.block_size
        if op == 6:  # erase
            self._tick()
            addr = arg * self.block_size
            self.data[addr:addr + self.block_size] = self._blank
            return 0
        return 0


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
