# Commands received between two rounds of the uplink: queued from inside umqtt's parsing
# (answering there would publish re-entrantly), bounded in count and in bytes, then answered
# one reply each; what finds the queue full is counted and answered by one error.
_MAX_QUEUED_CMDS = 16


class Inbox:
    def __init__(self, commands, cmd_prefix, cap):
        self.commands = commands  # commands.CommandHandler
        self._prefix = cmd_prefix  # b"<root>cmd/": the name follows it
        self._q = []
        self._bytes = 0
        self._cap = cap  # bytes of payload the queue may hold
        self.dropped = 0  # commands that found the queue full; answered with one error

    def put(self, topic, msg):
        # Bounded in count and in bytes: 16 commands of 4 KiB would not fit the heap.
        if len(self._q) < _MAX_QUEUED_CMDS and self._bytes + len(msg) <= self._cap:
            self._q.append((topic, msg))
            self._bytes += len(msg)
        else:
            self.dropped += 1

    def oversized(self, topic, size):
        """A command too big to receive: only its size is known; it still gets its reply."""
        if len(self._q) < _MAX_QUEUED_CMDS:
            self._q.append((topic, size))
        else:
            self.dropped += 1

    def refused(self, topic, why):
        """A command or ack that failed the authentication check: answered, never acted on."""
        if len(self._q) < _MAX_QUEUED_CMDS:
            self._q.append((topic, why))
        else:
            self.dropped += 1

    def waiting(self):
        return len(self._q)

    def empty(self):
        return not self._q and not self.dropped

    def answer_next(self):
        """The reply to the oldest queued command, which leaves the queue."""
        topic, msg = self._q.pop(0)
        if type(msg) is bytes:
            self._bytes -= len(msg)
        name = None
        if topic.startswith(self._prefix):
            try:
                name = topic[len(self._prefix):].decode()
            except UnicodeError:
                name = "?"  # brokers refuse such topics; never let one stop the uplink
        if type(msg) is int:  # too big to receive: only its size is known
            return self.commands.oversized(name, msg)
        if type(msg) is str:  # refused by the authentication check (mac.Guard)
            return self.commands.refused(name, msg)
        return self.commands.handle(msg, name)

    def overflow_reply(self):
        """The one reply for the commands dropped since the last one."""
        n = self.dropped
        self.dropped = 0
        self.commands.errors += n
        return self.commands.overflow_reply(n)
