"""Every board definition is valid against docs/schemas/board.json, and the firmware's loader
demands the same fields the schema does."""
import json
import os

import jsonschema
import pytest

from host_tools.repo import BOARDS as BOARD_DIR, ROOT
from host_tools.toolchain import firmware

SCHEMA = json.load(open(os.path.join(ROOT, "docs", "schemas", "board.json")))
BOARDS = firmware.board_names()


def test_the_four_boards_exist():
    for name in ("esp32-devkitc", "esp32-s3-devkitc", "olimex-esp32-evb", "unix-sim"):
        assert name in BOARDS


@pytest.mark.parametrize("name", BOARDS)
def test_board_valid_against_schema(name):
    with open(os.path.join(BOARD_DIR, name + ".json")) as f:
        b = json.load(f)
    jsonschema.Draft202012Validator(SCHEMA).validate(b)
    assert b["name"] == name
    assert firmware.module("core.board").load(BOARD_DIR, name)["name"] == name


@pytest.mark.parametrize("name", [n for n in BOARDS if not n.startswith("unix-")])
def test_real_board_wires_every_pin_once(name):
    b = firmware.module("core.board").load(BOARD_DIR, name)
    pins = [v for v in b["pins"].values() if v is not None]
    assert len(pins) == len(firmware.module("core.board").PINS), "a real board wires every signal"
    assert len(set(pins)) == len(pins), "two signals on one GPIO"
    assert b["pilot"]["adc_pin"] == b["pins"]["cp_adc"] and b["pilot"]["pwm_pin"] == b["pins"]["cp_pwm"]


@pytest.mark.parametrize("name", [n for n in BOARDS if not n.startswith("unix-")])
def test_real_board_states_its_matrix_row(name):
    b = firmware.module("core.board").load(BOARD_DIR, name)
    assert b["carry"] in ("files", "frozen") and b["module"] and b["image"] and b["heap_bytes"] > 0
    # A stock image runs .mpy files; without PSRAM the heap is too small for them (docs/boards.md).
    assert (b["carry"] == "files") == b["psram"]
    assert ("SPIRAM" in b["image"]) == b["psram"]


def test_a_wrover_board_beside_the_s3():
    assert "esp32-wrover-devkitc" in BOARDS
    b = firmware.module("core.board").load(BOARD_DIR, "esp32-wrover-devkitc")
    assert b["mcu"] == "esp32" and b["psram"] and b["image"] == "ESP32_GENERIC-SPIRAM"
    assert not {16, 17} & set(b["pins"].values()), "GPIO 16/17 carry the WROVER's PSRAM"


def test_loader_and_schema_require_the_same_fields():
    board = firmware.module("core.board")
    assert sorted(SCHEMA["required"]) == sorted(board._REQUIRED)
    assert sorted(SCHEMA["properties"]["pins"]["required"]) == sorted(board.PINS)


def _broken(tmp_path, mutate):
    with open(os.path.join(BOARD_DIR, "esp32-devkitc.json")) as f:
        b = json.load(f)
    mutate(b)
    with open(tmp_path / "esp32-devkitc.json", "w") as f:
        json.dump(b, f)
    return b


@pytest.mark.parametrize("mutate, words", [
    (lambda b: b["pins"].pop("rcd"), "pin 'rcd'"),
    (lambda b: b["pins"].update(led=49), "pin 'led'"),
    (lambda b: b["pins"].update(led="2"), "pin 'led'"),
    (lambda b: b.pop("psram"), "'psram'"),
    (lambda b: b.update(carry="flash"), "'carry'"),
])
def test_broken_board_refused_by_both(tmp_path, mutate, words):
    b = _broken(tmp_path, mutate)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(SCHEMA).validate(b)
    board = firmware.module("core.board")
    with pytest.raises(board.BoardError) as e:
        board.load(str(tmp_path), "esp32-devkitc")
    assert words in str(e.value)


@pytest.mark.parametrize("name", [n for n in BOARDS if not n.startswith("unix-")])
def test_board_reader_is_supported_and_on_free_pins(name):
    # A board whose reader the firmware refuses would not boot (rfid.py); its pins must not
    # sit on a signal the board already uses.
    b = firmware.module("core.board").load(BOARD_DIR, name)
    spec = b.get("rfid")
    if spec is None:
        return
    assert spec["type"] in firmware.module("drivers.rfid").SUPPORTED
    used = {v for v in b["pins"].values() if v is not None}
    mine = [v for k, v in spec.items() if k != "type"]
    assert len(set(mine)) == len(mine) and not used & set(mine), (mine, used)
