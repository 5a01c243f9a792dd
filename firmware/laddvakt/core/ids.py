# Session ids, built and parsed in one place: the install id and the journal seq of the
# session's start record, "<install>-<seq as 8 hex digits>" (21 characters; OCPP 2.0.1 allows
# 36). Unique for the install's lifetime, and the seq says where the session begins.


def session_id(install, seq):
    return "%s-%08x" % (install, seq)


def session_seq(sid, install):
    """The journal seq that install's session id names; ValueError if it is not one."""
    if len(sid) != len(install) + 9 or not sid.startswith(install + "-"):
        raise ValueError("not a session of %s: %r" % (install, sid))
    return int(sid[-8:], 16)  # ValueError on anything but hex digits
