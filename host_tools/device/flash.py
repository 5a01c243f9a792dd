"""Flash a downloaded MicroPython image onto an ESP32 with esptool: detect the chip, check that
the image is built for it, erase the flash, write the image.

    python -m host_tools.device.flash --port /dev/ttyUSB0 --firmware ESP32_GENERIC-20250415-v1.25.0.bin
    make flash PORT=/dev/ttyUSB0 FIRMWARE=…  [CHIP=esp32] [DRY_RUN=1]

The chip an image is for is in its header: an ESP32 image starts with the magic byte 0xE9, and
the 16-byte extended header after the 8-byte header holds the chip id (bytes 12-13, little
endian; esptool's "Firmware Image Format"). A MicroPython download is the merged image that
starts with the second-stage bootloader, which is written at the chip's bootloader offset (0x1000
on the ESP32 and ESP32-S2, 0x0 on the S3 and C3); esptool's own chip table gives both numbers.
"""
import argparse
import hashlib
import os
import shlex
import struct
import subprocess
import sys

from esptool.targets import CHIP_DEFS

ESPTOOL = os.path.join(os.path.dirname(sys.executable), "esptool")
IMAGE_MAGIC = 0xE9
PARTITION_TABLE_FLASH_OFFSET = 0x8000  # MicroPython's (ESP-IDF's default) partition table
PARTITION_MAGIC = b"\xaa\x50"
BAUD = 460800


class FlashError(Exception):
    pass


def chip_by_id(chip_id):
    for name, cls in CHIP_DEFS.items():
        if cls.IMAGE_CHIP_ID == chip_id:
            return name, cls
    return None, None


def inspect_image(path):
    """(chip name as esptool spells it, flash offset, sha256 hex) of a full MicroPython image;
    FlashError saying what is wrong otherwise."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise FlashError("cannot read %s: %s" % (path, e.strerror)) from e
    if len(data) < 24 or data[0] != IMAGE_MAGIC:
        raise FlashError("%s is not an ESP32 flash image (no 0xE9 image header); download the .bin "
                         "file, not the .uf2, .elf or .hex" % path)
    chip_id = struct.unpack_from("<H", data, 12)[0]
    name, cls = chip_by_id(chip_id)
    if name is None:
        raise FlashError("%s is for an unknown chip (chip id %d in its header)" % (path, chip_id))
    offset = cls.BOOTLOADER_FLASH_OFFSET
    pt = PARTITION_TABLE_FLASH_OFFSET - offset
    if data[pt:pt + 2] != PARTITION_MAGIC:
        raise FlashError("%s has no partition table where a full image has one: it looks like an "
                         "app-only (OTA) image; download the full firmware .bin" % path)
    return name, offset, hashlib.sha256(data).hexdigest()


def chip_label(name):
    return CHIP_DEFS[name].CHIP_NAME


def detect_chip(port):
    """The chip on the port, as esptool names it (esp32, esp32s3, …)."""
    from esptool.cmds import detect_chip as _detect

    try:
        with _detect(port=port, baud=115200) as esp:
            label = esp.CHIP_NAME
    except Exception as e:  # esptool raises its own FatalError and serial errors
        raise FlashError("no ESP32 answered on %s: %s" % (port, e)) from e
    for name, cls in CHIP_DEFS.items():
        if cls.CHIP_NAME == label:
            return name
    raise FlashError("esptool found a %s on %s, which this tool does not know" % (label, port))


def commands(chip, port, offset, firmware, baud=BAUD):
    base = [ESPTOOL, "--chip", chip, "--port", port, "--baud", str(baud)]
    return [base + ["erase-flash"],
            base + ["write-flash", "-z", "0x%x" % offset, firmware]]


def main(argv=None):
    ap = argparse.ArgumentParser(description="Flash a MicroPython image onto an ESP32 board.")
    ap.add_argument("--port", required=True)
    ap.add_argument("--firmware", required=True, help="the MicroPython .bin you downloaded")
    ap.add_argument("--chip", choices=sorted(n for n in CHIP_DEFS if n != "esp8266"),
                    help="the board's chip; detected with esptool when not given")
    ap.add_argument("--baud", type=int, default=BAUD)
    ap.add_argument("--dry-run", action="store_true", help="print the plan and commands, touch no board")
    args = ap.parse_args(argv)
    try:
        img_chip, offset, sha = inspect_image(args.firmware)
        print("image: %s" % args.firmware)
        print("  for %s, written at 0x%x" % (chip_label(img_chip), offset))
        print("  sha256 %s  (compare with the hash you pinned for this release)" % sha)
        board_chip = args.chip
        if board_chip is None and args.dry_run:
            print("board: would detect the chip on %s with esptool" % args.port)
        else:
            if board_chip is None:
                board_chip = detect_chip(args.port)
            print("board: %s on %s" % (chip_label(board_chip), args.port))
            if board_chip != img_chip:
                raise FlashError(
                    "refusing to flash: %s is built for %s, but the board is an %s. Download the "
                    "image for %s (e.g. ESP32_GENERIC%s) and try again." % (
                        os.path.basename(args.firmware), chip_label(img_chip), chip_label(board_chip),
                        chip_label(board_chip), "" if board_chip == "esp32" else
                        "_" + chip_label(board_chip).split("-", 1)[1]))
        cmds = commands(board_chip or img_chip, args.port, offset, args.firmware, args.baud)
        for c in cmds:
            print(("would run: " if args.dry_run else "run: ") + shlex.join(c), flush=True)
            if not args.dry_run:
                r = subprocess.run(c)
                if r.returncode:
                    raise FlashError("esptool failed (exit %d); the board is unchanged or half "
                                     "written: run make flash again" % r.returncode)
        if not args.dry_run:
            print("flashed. Next: make deploy PORT=%s" % args.port)
        return 0
    except FlashError as e:
        print("flash: %s" % e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
