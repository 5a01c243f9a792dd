# Replays (docs/mqtt.md, Replay): the retained range a `replay` asks for, checked against the
# journal before the uplink queues it. Asked by the MQTT command and by the serial console.
from laddvakt.core.ids import session_seq
from laddvakt.uplink.commands import CommandError


def plan(journal, install, frm, to, sid):
    """[after seq, up to seq, sid bytes or None] of the records from seq frm to seq to (the
    journal's end if None), or of session sid; raises CommandError when none is retained."""
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
    if not first or first[0] > to:
        raise CommandError("records from %d are no longer retained" % frm)
    return [first[0] - 1, to, sid.encode() if sid else None]
