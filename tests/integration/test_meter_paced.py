"""The firmware's awaited Modbus poll against the simulator at real 9600-baud timing (replies
arrive a few bytes at a time, as a serial line delivers them): readings are booked exactly,
and a reply slower than the timeout is a timeout, not a partial frame."""
from host_tools.testing.meter_sim import Load, MeterModel, MeterSim, PtyPair
from tests.integration.meter_harness import FirmwareMeter


def test_paced_replies_are_read_whole():
    model = MeterModel("sdm630", 1, load=Load(0))
    with PtyPair() as pair, MeterSim(pair.sim_path, [model], baud=9600) as sim:
        fw = FirmwareMeter(pair.agent_path, "sdm630", 1, timeout_ms=300, retries=0)
        try:
            for up in (1000, 2000, 3000):
                r = fw.cmd("sample %d" % up)
                assert r["ok"] and r["energy_wh"] == model.e_imp // 10, r
            st = r["status"]
            assert st["timeouts"] == st["crc_errors"] == st["bad_frames"] == 0, st
            assert st["requests"] == sim.replies >= 3
            sim.inject(("late", 400))  # turnaround beyond the 300 ms timeout
            r = fw.cmd("sample 4000")
            assert not r["ok"] and r["status"]["timeouts"] == 1, r
        finally:
            fw.close()
