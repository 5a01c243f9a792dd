# Replays (docs/mqtt.md, Replay): the retained range a `replay` asks for, checked against the
# journal before the uplink queues it. Asked by the MQTT command and by the serial console.
from laddvakt.core.clock import session_seq


def plan(journal, install, frm, to, sid):
    """[after seq, up to seq, sid bytes or None] of the records from seq frm to seq to (the
    journal's end if None), or of session sid; raises CommandError when none is retained."""
    from laddvakt.uplink.commands import CommandError  # loaded with the first command

    j = journal
    if sid is not None:
        try:
            frm = session_seq(sid, install)
        except ValueError:
            raise CommandError("unknown session '%s'" % sid)
        to = j.seq
    else:
        if frm is None:
            raise CommandError("replay needs 'from_seq' or 'sid'")
        frm = int(frm)
        to = min(j.seq if to is None else int(to), j.seq)
    if frm < 1 or frm > to:
        raise CommandError("nothing to replay from %d (journal ends at %d)" % (frm, j.seq))
    first = []
    j.read_after(frm - 1, lambda seq, t, p: first.append(seq) and False)
    if not first:
        raise CommandError("records from %d are no longer retained" % frm)
    # A range with no record at all (seqs the journal skipped or lost, reported by a gap record)
    # but records after it: nothing to send, and the answer's from_seq, after to_seq, tells a
    # backend to ack past it (docs/mqtt.md, Replay), so such a hole is never repaired for ever.
    return [first[0] - 1, to, sid.encode() if sid else None]


class Replayer:
    """The one replay going (a new one replaces it), advanced a batch at a time by the uplink."""

    def __init__(self, journal, install):
        self._j = journal
        self._install = install
        self.r = None  # [after seq, up to seq, sid bytes or None]

    def start(self, frm, to=None, sid=None):
        """Queue a replay (docs/mqtt.md, Replay); returns (first seq retained, last seq), raises
        CommandError when none is."""
        r = plan(self._j, self._install, frm, to, sid)
        self.r = r if r[0] < r[1] else None  # None: nothing in the range (plan)
        return r[0] + 1, r[1]

    def cmd(self, args):
        first, to = self.start(args.get("from_seq"), args.get("to_seq"), args.get("sid"))
        return {"from_seq": first, "to_seq": to}

    def next(self, b):
        """Build the replay's next batch into b (True if it holds records), and move on."""
        r = self.r
        start = r[0]
        built = b.build(r[0], r[1], r[2])
        r[0] = b.scan
        r[1] = b.upto  # a session replay ends at the session's end
        if r[0] >= r[1] or r[0] == start:
            self.r = None
        return built
