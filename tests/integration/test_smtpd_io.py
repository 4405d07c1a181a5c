# smtpd's socket handling on plain connections (smtpd/connection.cpp): replies written at
# once and queued only when the socket is full, input read while a session waits for the
# queue manager (bounded), flow control against a client that does not read its replies,
# a client that shuts down its sending side after pipelining, and the command and DATA
# time limits (RFC 5321 4.5.3.2).
import re
import socket
import threading
import time

import harness
from messages import make_message

USER = "demo@example.test"


def read_replies(c, n):
    return [c.reply()[0] for _ in range(n)]


def test_client_that_does_not_read_for_a_while_gets_every_reply(mb):
    # RFC 2920 3.1 lets a client send commands without waiting. One that stops reading
    # its replies fills the socket: smtpd queues what the socket does not take, stops
    # reading that client at 256 KB of unread replies (kernel buffers hold the rest of
    # the flood), serves other sessions meanwhile, and once the client reads again every
    # reply comes, in order.
    n = 200000  # 1.2 MB of commands, 2.8 MB of replies
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
    s.settimeout(60)
    s.connect((mb.host, mb.port))
    c = harness.RawSMTP.__new__(harness.RawSMTP)
    c.sock, c.buf = s, b""
    assert c.reply()[0] == 220
    sent = threading.Event()

    def flood():
        c.send(b"NOOP\r\n" * n)
        sent.set()

    t = threading.Thread(target=flood, daemon=True)
    t.start()
    time.sleep(1.0)
    other = mb.raw()
    assert other.cmd("EHLO other.example.net")[0] == 250
    assert other.cmd("QUIT")[0] == 221
    other.close()
    codes = read_replies(c, n)
    t.join(60)
    assert sent.is_set()
    assert codes == [250] * n
    assert c.cmd("QUIT")[0] == 221
    c.close()


def test_commands_pipelined_behind_the_data_wait_for_the_250(mb):
    # RFC 2920 3.1: commands after the end of data are answered after its reply. More of
    # them than smtpd holds while it waits for the queue manager (64 KB): reading pauses
    # and resumes, and every reply still comes, in order.
    c = mb.raw()
    assert c.cmd("EHLO client.example.net")[0] == 250
    mid, msg = make_message("held-input", 2)
    assert c.cmd("MAIL FROM:<sender@example.net>")[0] == 250
    assert c.cmd("RCPT TO:<%s>" % USER)[0] == 250
    assert c.cmd("DATA")[0] == 354
    noops = 20000  # 120 KB
    stuffed = re.sub(rb"(?m)^\.", b"..", msg)
    c.send(stuffed + b".\r\n" + b"NOOP\r\n" * noops + b"QUIT\r\n")
    code, lines = c.reply()
    assert code == 250 and "queued as" in lines[0], lines
    assert read_replies(c, noops) == [250] * noops
    assert c.reply()[0] == 221
    c.close()
    mb.find_message(USER, mid)


def test_half_closed_client_gets_every_reply(mb):
    # A script that pipes its commands and closes its sending side still reads all the
    # replies; smtpd closes after the last one.
    s = socket.create_connection((mb.host, mb.port), timeout=30)
    s.sendall(b"EHLO client.example.net\r\nMAIL FROM:<sender@example.net>\r\nRSET\r\nQUIT\r\n")
    s.shutdown(socket.SHUT_WR)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    lines = data.split(b"\r\n")
    finals = [ln[:3] for ln in lines if len(ln) >= 4 and ln[3:4] == b" "]
    assert finals == [b"220", b"250", b"250", b"250", b"221"], data


def test_idle_client_and_stalled_data_time_out_with_421(make_mailbag):
    # RFC 5321 4.5.3.2.7 (server timeout) and 4.5.3.2.5 (data block): 421 then close.
    mb = make_mailbag(conf={"smtpd_timeout": "1s", "smtpd_data_timeout": "2s"})
    c = mb.raw()
    t0 = time.monotonic()
    code, lines = c.reply()
    assert code == 421 and lines[0].startswith("4.4.2"), lines
    assert 0.5 < time.monotonic() - t0 < 10
    assert c.replies_until_close() == []
    c.close()
    c = mb.raw()
    assert c.cmd("EHLO client.example.net")[0] == 250
    assert c.cmd("MAIL FROM:<sender@example.net>")[0] == 250
    assert c.cmd("RCPT TO:<%s>" % USER)[0] == 250
    assert c.cmd("DATA")[0] == 354
    c.send(b"Subject: stalled\r\n\r\nhalf a message")
    t0 = time.monotonic()
    time.sleep(1.5)  # longer than smtpd_timeout, shorter than smtpd_data_timeout
    code, lines = c.reply()
    assert code == 421, lines
    assert time.monotonic() - t0 > 0.4
    c.close()
