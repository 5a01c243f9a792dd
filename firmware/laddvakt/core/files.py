# Atomic file replacement, the one copy: write a temporary file beside the target, then rename
# it over the target. littlefs and POSIX renames are atomic, so a power cut leaves the old file
# or the new one, never a torn one.
import os


def write_atomic(path, data):
    """Replace path's contents with data (str or bytes)."""
    tmp = path + ".tmp"
    with open(tmp, "wb" if isinstance(data, (bytes, bytearray)) else "w") as f:
        f.write(data)
    os.rename(tmp, path)
