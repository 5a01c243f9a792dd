# Commands received between two rounds of the uplink. Each is handled as it is read, from the
# link's receive buffer in place (mqtt.py, MQTTLink.poll), and only its reply is queued: replies
# are published later (publishing from inside the link's parsing would be re-entrant). The queue
# is bounded in count and in bytes; what finds it full is counted and answered by one error.
# The command handler (uplink/commands.py, control/commands.py) is made at the first command:
# a station that never gets one does not hold that code. Guard, at the end, decides whether a
# command or ack may act (docs/mqtt.md, Authentication); the MAC it checks is mac.py's.
from micropython import const

from laddvakt.core.ident import write_atomic

_MAX_QUEUED = const(16)
# How a command came in (Inbox._take): x is its payload, its size, or why it was refused.
_COMMAND = const(0)
_OVERSIZED = const(1)
_REFUSED = const(2)


class Inbox:
    def __init__(self, commands, prefix, cap, room=1 << 20):
        self.make = commands  # fn() -> the commands.CommandHandler, called at the first command
        self.commands = None
        self.prefix = prefix  # b"<root>cmd/": the name follows it
        self.q = []
        self.size = 0  # bytes of the replies queued
        self.max_bytes = cap  # bytes of replies the queue may hold
        self.room = room  # bytes one reply may take: the link's write buffer past its header
        self.dropped = 0  # commands that found the queue full; answered with one error

    def put(self, topic, msg):
        """Handle one command (msg: bytes or a memoryview, used only during this call)."""
        self._take(topic, msg, _COMMAND)

    def oversized(self, topic, size):
        """A command too big to receive: only its size is known; it still gets its reply."""
        self._take(topic, size, _OVERSIZED)

    def refused(self, topic, why):
        """A command or ack that failed the authentication check: answered, never acted on."""
        self._take(topic, why, _REFUSED)

    def _take(self, topic, x, kind):
        # Room is checked before handling: a command that would find no room is not acted on
        # (so the bytes bound may be passed by one reply, never by more), only counted.
        if len(self.q) >= _MAX_QUEUED or self.size >= self.max_bytes:
            self.dropped += 1
            return
        c = self.commands
        if c is None:  # the handler, made at the first command
            c = self.commands = self.make()
        name = None
        if topic.startswith(self.prefix):
            try:
                name = bytes(topic[len(self.prefix):]).decode()
            except UnicodeError:
                name = "?"  # brokers refuse such topics; never let one stop the uplink
        if kind == _COMMAND:
            reply = c.reply(x, name)
        elif kind == _OVERSIZED:
            reply = c.oversized(name, x)
        else:
            reply = c.refused(name, x)
        # The reply as commands.write writes it (the handler's module is loaded by now), queued
        # with its size; its JSON is made only when it goes (answer_next).
        from laddvakt.uplink.commands import size

        n = size(reply)
        if n > self.room:
            # It could not be written where it goes (answer_next): its sender gets this instead.
            c.errors += 1
            reply = (reply[0], False, "reply of %d bytes exceeds the %d bytes a message may carry" % (n, self.room))
            n = size(reply)
        self.q.append((reply, n))
        self.size += n

    def waiting(self):
        return len(self.q)

    def empty(self):
        return not self.q and not self.dropped

    def answer_next(self, room=None):
        """The oldest queued reply, which leaves the queue: its JSON (bytes), or, given room (a
        memoryview: the link's write buffer, MQTTLink.room), written there, and its length."""
        from laddvakt.uplink import commands

        reply, n = self.q.pop(0)
        self.size -= n
        if room is None:
            return commands.text(reply)
        if n > len(room):
            raise ValueError("reply of %d bytes: the link's write buffer has room for %d" % (n, len(room)))
        w = commands.Sink()
        w.mv = room
        commands.write(w, reply)
        return n

    def overflow_reply(self):
        """The one reply for the commands dropped since the last one."""
        n = self.dropped
        self.dropped = 0
        c = self.commands
        if c is None:  # every command so far found the queue full
            c = self.commands = self.make()
        c.errors += n
        from laddvakt.uplink.commands import text

        return text(c.overflow_reply(n))


class Guard:
    """Decides whether a command or ack may act: not retained (a retained one would act again
    after every reconnect), signed with this device's key when it has one, and with a counter
    above the last accepted one of its kind. The command counter is kept in a file, so a
    reboot does not reopen old commands to replay; the ack counter lives in RAM, because an
    authentic old ack of this install only names records the backend did store."""

    def __init__(self, device_key, path, handlers):
        self.mac = None
        if device_key:  # the MAC code (mac.py) loads only where a key is provisioned
            from laddvakt.uplink.mac import Mac

            self.mac = Mac(device_key)
        self.path = path  # the command counter's file
        try:
            with open(path) as f:
                ctr = int(f.read())
        except (OSError, ValueError):
            ctr = 0
        self._last = [ctr, 0]  # commands, acks
        self.refused = 0
        self.last_refusal = None
        st = handlers.get("status")
        if st is not None:  # the status command reports the refusals beside the agent's state
            handlers["status"] = lambda a: self.status(st(a))

    def status(self, d):
        """The status command's answer d, with the refusals beside the agent's state."""
        d["auth"] = {"signed": self.mac is not None, "refused": self.refused, "last": self.last_refusal}
        return d

    def admit(self, topic, payload, retained, ack):
        """None if it may act; otherwise the reason, counted."""
        why = None
        if retained:
            why = "retained message ignored"
        elif self.mac is not None:
            try:
                ctr = self.mac.check(topic, payload)
                k = 1 if ack else 0
                if ctr <= self._last[k]:
                    why = "replayed (counter %d, last accepted %d)" % (ctr, self._last[k])
                else:
                    self._last[k] = ctr
                    if not ack:
                        write_atomic(self.path, str(ctr))
            except ValueError as e:
                why = str(e)
        if why:
            self.refused += 1
            self.last_refusal = why
        return why
