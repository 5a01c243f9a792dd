# What goes on the board. Two readers:
# - MicroPython's own build, for a custom image with the agent frozen into flash (code then
#   costs no heap): make BOARD=ESP32_GENERIC FROZEN_MANIFEST=/path/to/laddvakt/firmware/manifest.py
#   in micropython/ports/esp32. main.py, the board file and the config still go on the
#   filesystem: make deploy FROZEN=1.
# - host_tools/device/deploy.py, which copies the same modules, compiled by mpy-cross, to the filesystem
#   of a stock MicroPython image.
include("$(PORT_DIR)/boards/manifest.py")
require("umqtt.simple")
package("laddvakt", opt=3)
