"""make flash: the image's chip comes from its header (written here by esptool's own image
classes), a mismatch is refused before anything is erased, and the dry run prints the exact
esptool command lines."""
import os
import shlex
import subprocess
import sys

import pytest
from esptool.bin_image import ImageSegment
from esptool.targets import CHIP_DEFS

from host_tools.device import flash

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ESPTOOL = os.path.join(os.path.dirname(sys.executable), "esptool")


def full_image(tmp_path, chip, app_only=False):
    """A merged image as MicroPython ships it: bootloader at the chip's offset, partition
    table at flash 0x8000. The bootloader header is written by esptool itself."""
    img = CHIP_DEFS[chip].BOOTLOADER_IMAGE()
    seg = ImageSegment(0x3FFE0000, b"\x01" * 64)
    seg.name = ".dram0.data"
    img.segments = [seg]
    img.entrypoint = 0x40080000
    boot = tmp_path / "boot.bin"
    img.save(str(boot))
    data = bytearray(boot.read_bytes())
    if not app_only:
        pt = 0x8000 - CHIP_DEFS[chip].BOOTLOADER_FLASH_OFFSET
        data += b"\xff" * (pt - len(data))
        data += b"\xaa\x50" + b"\x00" * 30
    path = tmp_path / ("%s-firmware.bin" % chip)
    path.write_bytes(bytes(data))
    return str(path)


@pytest.mark.parametrize("chip, offset", [("esp32", 0x1000), ("esp32s3", 0x0), ("esp32c3", 0x0),
                                          ("esp32s2", 0x1000)])
def test_image_chip_and_offset_from_header(tmp_path, chip, offset):
    name, off, sha = flash.inspect_image(full_image(tmp_path, chip))
    assert (name, off) == (chip, offset)
    assert len(sha) == 64


def _run(*args):
    return subprocess.run([sys.executable, "-m", "host_tools.device.flash", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_dry_run_prints_exact_esptool_commands(tmp_path):
    fw = full_image(tmp_path, "esp32")
    r = _run("--port", "/dev/ttyUSB0", "--firmware", fw, "--dry-run")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "  for ESP32, written at 0x1000" in lines
    assert "board: would detect the chip on /dev/ttyUSB0 with esptool" in lines
    assert "would run: " + shlex.join([ESPTOOL, "--chip", "esp32", "--port", "/dev/ttyUSB0", "--baud",
                                       "460800", "erase-flash"]) in lines
    assert "would run: " + shlex.join([ESPTOOL, "--chip", "esp32", "--port", "/dev/ttyUSB0", "--baud",
                                       "460800", "write-flash", "-z", "0x1000", fw]) in lines


def test_make_flash_dry_run_for_s3(tmp_path):
    fw = full_image(tmp_path, "esp32s3")
    r = subprocess.run(["make", "-s", "flash", "PORT=/dev/ttyACM0", "FIRMWARE=" + fw, "CHIP=esp32s3",
                        "DRY_RUN=1"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "board: ESP32-S3 on /dev/ttyACM0" in r.stdout
    assert "write-flash -z 0x0 " + fw in r.stdout


def test_wrong_chip_refused_before_erasing(tmp_path):
    fw = full_image(tmp_path, "esp32s3")
    r = _run("--port", "/dev/ttyUSB0", "--firmware", fw, "--chip", "esp32", "--dry-run")
    assert r.returncode == 2
    assert ("refusing to flash: esp32s3-firmware.bin is built for ESP32-S3, but the board is an ESP32. "
            "Download the image for ESP32 (e.g. ESP32_GENERIC) and try again.") in r.stderr
    assert "erase-flash" not in r.stdout


def test_detected_chip_mismatch_refused(tmp_path, monkeypatch, capsys):
    # Without a board the detection itself cannot run; the comparison after it is the same code.
    fw = full_image(tmp_path, "esp32")
    monkeypatch.setattr(flash, "detect_chip", lambda port: "esp32c3")
    ran = []
    monkeypatch.setattr(flash.subprocess, "run", lambda c: ran.append(c))
    assert flash.main(["--port", "/dev/ttyUSB0", "--firmware", fw]) == 2
    assert "built for ESP32, but the board is an ESP32-C3" in capsys.readouterr().err
    assert ran == []


@pytest.mark.parametrize("make, words", [
    (lambda p: p.write_bytes(b"UF2\nWQ]\x9e" + b"\x00" * 100), "not an ESP32 flash image"),
    (lambda p: p.write_bytes(b"\xe9\x01\x00\x00" + b"\x00" * 8 + b"\x63\x00" + b"\x00" * 50),
     "unknown chip (chip id 99"),
])
def test_not_an_image_refused(tmp_path, make, words):
    p = tmp_path / "x.bin"
    make(p)
    r = _run("--port", "/dev/ttyUSB0", "--firmware", str(p), "--dry-run")
    assert r.returncode == 2 and words in r.stderr


def test_app_only_image_refused(tmp_path):
    fw = full_image(tmp_path, "esp32", app_only=True)
    r = _run("--port", "/dev/ttyUSB0", "--firmware", fw, "--dry-run")
    assert r.returncode == 2 and "app-only (OTA) image" in r.stderr
