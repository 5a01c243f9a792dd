# ESP32 board: machine peripherals, Wi-Fi, SNTP (uplink/sntp.py, in the network task), the
# littlefs vfs partition. Peripherals are built on request from the board definition, never at import.
from laddvakt.core.ticker import RealTicker


class Esp32Hal:
    name = "esp32"
    data_dir = "/data"
    boards_dir = "/boards"
    bench = False
    _resolver = None

    def __init__(self):
        import os

        try:
            os.mkdir(self.data_dir)
        except OSError:
            pass

    def urandom(self, n):
        import os

        return os.urandom(n)

    def time_source(self, cfg):
        """SNTP, run by the network task (app/wiring.py), never by sampling."""
        from laddvakt.uplink.sntp import sntp_source

        return sntp_source(cfg, self.urandom, "pool.ntp.org", self.dns(cfg))

    def dns(self, cfg):
        """The network task's resolver (uplink/dns.py), shared by MQTT and SNTP: dns_server, else
        the one DHCP handed out, asked for at each lookup (Wi-Fi may come up later)."""
        if self._resolver is None:
            from laddvakt.uplink.dns import Resolver

            self._resolver = Resolver(lambda: cfg["dns_server"] or _dhcp_dns(), urandom=self.urandom)
        return self._resolver

    def ticker(self, period_ms):
        return RealTicker(period_ms)

    def station(self, board, cfg):
        """(meter, control hardware, time source, plant, meter profile) from the board file."""
        from laddvakt.app.hardware import board_station

        return board_station(self, board, cfg)

    def run_limit(self):
        return None  # a board runs for ever

    def pin(self, num, mode, pull=None):
        from machine import Pin

        return Pin(num, mode, pull)

    def pin_out(self, num):
        from machine import Pin

        return Pin(num, Pin.OUT)

    def pin_in(self, num):
        from machine import Pin

        return Pin(num, Pin.IN)

    def adc(self, num):
        from machine import ADC, Pin

        a = ADC(Pin(num))
        a.atten(ADC.ATTN_11DB)  # full 0..3.3 V range for the scaled CP signal
        return a

    def pwm(self, num, freq, duty_u16):
        from machine import PWM, Pin

        return PWM(Pin(num), freq=freq, duty_u16=duty_u16)

    def uart(self, uart_id, baudrate, tx, rx):
        from machine import UART

        return UART(uart_id, baudrate=baudrate, tx=tx, rx=rx)

    def rs485(self, meter, pins, cfg):
        """The meter's RS485 line: a UART, and the transceiver's DE pin where the board has one."""
        from machine import UART, Pin

        from laddvakt.hal.esp32_uart import Rs485Uart, uart_kwargs

        # the board's meter "line" (8N1, 8E1, 8O1, 8N2) as UART keywords, tested as pure code
        u = UART(meter["uart"], **uart_kwargs(meter, pins))
        de = pins.get("rs485_de")
        return Rs485Uart(u, Pin(de, Pin.OUT) if de is not None else None)

    def s0_input(self, num):
        """The S0 pulse input (open collector: pulled up, a pulse pulls it low). GPIO 34-39 of
        the ESP32 are input-only without internal pull-ups: the board pulls those up itself
        (docs/boards.md)."""
        import sys

        from machine import Pin

        pull = None if sys.platform == "esp32" and 34 <= num <= 39 else Pin.PULL_UP
        return Pin(num, Pin.IN, pull), Pin.IRQ_FALLING

    def console(self):
        """The REPL UART: sys.stdin can be polled without blocking on the ESP32 port, and
        Ctrl-C still reaches the REPL, so mpremote can always take the board back."""
        import sys

        return sys.stdin, sys.stdout.write

    def reboot(self):
        import machine

        machine.reset()

    def wdt(self, timeout_ms):
        from machine import WDT

        return WDT(timeout=timeout_ms)

    def reset_cause(self):
        """'watchdog' after a reset by the watchdog, else None."""
        import machine

        return "watchdog" if machine.reset_cause() == machine.WDT_RESET else None

    def spi(self, sck, mosi, miso, baudrate):
        """An SPI bus in mode 0 on any pins (the GPIO matrix routes them)."""
        from machine import SPI, Pin

        return SPI(1, baudrate=baudrate, polarity=0, phase=0, sck=Pin(sck), mosi=Pin(mosi), miso=Pin(miso))

    def wiegand_input(self, num):
        """A Wiegand data line (D0 or D1): idle high, a bit is a ~50 us low pulse, so the
        same pulled-up falling-edge input as S0 (docs/boards.md: 5 V readers need a level
        shifter)."""
        return self.s0_input(num)

    def net_up(self, cfg):
        import network

        sta = network.WLAN(network.STA_IF)
        sta.active(True)
        if not sta.isconnected() and cfg["wifi_ssid"]:
            sta.connect(cfg["wifi_ssid"], cfg["wifi_password"])
        return sta.isconnected()


def _dhcp_dns():
    import network

    try:
        return network.ipconfig("dns")  # MicroPython 1.24 and later
    except (AttributeError, ValueError, OSError):
        return network.WLAN(network.STA_IF).ifconfig()[3]
