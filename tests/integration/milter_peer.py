# A small mail filter speaking the Sendmail milter protocol (version 6), written by hand
# for the tests of smtpd's milter client: it records what smtpd sends (commands and
# macros), answers with chosen changes at the end of the message, and misbehaves on
# demand (hangs, sends a malformed packet, closes mid-message) so that the tests can
# prove how smtpd copes. A test peer, not a filter anyone would run.
import socket
import struct
import threading


def packet(code, data=b""):
    return struct.pack(">I", len(data) + 1) + code + data


def strings(*items):
    return b"".join(s.encode() if isinstance(s, str) else s for s in items for s in (s, b"\0"))


# Modifications (filter to MTA), as packets.
def add_header(name, value):
    return packet(b"h", strings(name, value))


def change_header(index, name, value):
    return packet(b"m", struct.pack(">I", index) + strings(name, value))


def insert_header(index, name, value):
    return packet(b"i", struct.pack(">I", index) + strings(name, value))


def change_from(addr):
    return packet(b"e", strings(addr))


def add_rcpt(addr):
    return packet(b"+", strings(addr))


def del_rcpt(addr):
    return packet(b"-", strings(addr))


def replace_body(data):
    return packet(b"b", data)


def reply_code(text):
    return packet(b"y", strings(text))


ALL_ACTIONS = 0x1FF


class TestMilter:
    """Listens on `host` (an ephemeral port). `misbehave` is None or one of "hang",
    "garbage", "close"; it happens at the first command whose code is `at` (b"E": the end
    of the message, b"B": a body chunk, b"M": MAIL...). `eom` is what is sent at the end
    of the message before the final `verdict` packet."""

    def __init__(self, host, misbehave=None, at=b"E", eom=(), verdict=None, steps=0, actions=ALL_ACTIONS):
        self.misbehave = misbehave
        self.at = at
        self.eom = list(eom)
        self.verdict = verdict or packet(b"c")
        self.steps = steps
        self.actions = actions
        self.commands = []  # (code, payload) in order, over all connections
        self.per_connection = {}  # connection number -> its command codes, in order
        self.macros = {}    # every macro seen: name -> last value
        self.connections = 0
        self.stopping = threading.Event()
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind((host, 0))
        self.lsock.listen(16)
        self.host, self.port = self.lsock.getsockname()
        self.conns = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def spec(self, options=""):
        return "inet:%s:%d%s" % (self.host, self.port, options)

    def stop(self):
        self.stopping.set()
        for s in [self.lsock] + self.conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        self.thread.join(5)

    def codes(self):
        return b"".join(c for c, _ in self.commands)

    def _accept(self):
        while not self.stopping.is_set():
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            self.conns.append(c)
            self.connections += 1
            self.per_connection[self.connections] = b""
            threading.Thread(target=self._serve, args=(c, self.connections), daemon=True).start()

    def _read(self, c, n):
        buf = b""
        while len(buf) < n:
            d = c.recv(n - len(buf))
            if not d:
                raise EOFError
            buf += d
        return buf

    def _serve(self, c, number):
        try:
            while True:
                (length,) = struct.unpack(">I", self._read(c, 4))
                data = self._read(c, length)
                code, payload = data[:1], data[1:]
                self.commands.append((code, payload))
                self.per_connection[number] += code
                if code == b"O":
                    c.sendall(packet(b"O", struct.pack(">III", 6, self.actions, self.steps)))
                    continue
                if code == b"D":
                    parts = payload[1:].split(b"\0")
                    for i in range(0, len(parts) - 1, 2):
                        self.macros[parts[i].decode()] = parts[i + 1].decode()
                    continue
                if code in (b"A", b"K"):
                    continue
                if code == b"Q":
                    return
                if self.misbehave and code == self.at:
                    if self.misbehave == "hang":
                        self.stopping.wait(120)
                        return
                    if self.misbehave == "garbage":
                        c.sendall(b"\xff\xff\xff\xffnot a milter packet")
                        self.stopping.wait(120)
                        return
                    if self.misbehave == "close":
                        return
                if code == b"E":
                    c.sendall(b"".join(self.eom) + self.verdict)
                else:
                    c.sendall(packet(b"c"))
        except (EOFError, OSError):
            pass
        finally:
            c.close()


def dead_spec(host):
    """An inet: address where nothing listens (the filter is stopped)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return "inet:%s:%d" % (host, port)
