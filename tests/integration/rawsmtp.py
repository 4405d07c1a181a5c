# Raw SMTP over a socket, for what smtplib hides: pipelining, bare LF, exact replies.
# Used through harness (harness.RawSMTP, Mailbag.raw()).
import socket


class RawSMTP:
    def __init__(self, host, port, timeout=30):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def _line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed by server; partial: %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r")

    def reply(self):
        """One complete (possibly multi-line) reply: (code, [text lines])."""
        lines = []
        while True:
            line = self._line()
            if len(line) < 3 or not line[:3].isdigit():
                raise ValueError("malformed reply line %r" % line)
            lines.append(line[4:].decode("utf-8", "replace"))
            if len(line) == 3 or line[3:4] == b" ":
                return int(line[:3]), lines

    def cmd(self, line):
        self.send(line.encode() + b"\r\n" if isinstance(line, str) else line + b"\r\n")
        return self.reply()

    def replies_until_close(self):
        """Every reply until the server closes the connection (after QUIT)."""
        out = []
        while True:
            try:
                out.append(self.reply())
            except ConnectionError:
                if self.buf.strip():
                    raise
                return out

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
