# Stalling and dripping SMTP peers (fault injection). Two hostile receivers, tiny
# Python servers on 127.x:25:
#   stall.test  answers normally up to DATA, reads the message, and never answers the
#               final dot (a peer stalled mid-DATA);
#   drip.test   sends an endless multi-line greeting at one byte a second, so that no
#               read ever waits long but no reply ever completes;
# and a real Postfix for good.test. With remote_timeout = 2s (RFC 5321 4.5.3.2 scaled:
# greeting 2 s, the reply to the final dot 4 s) both timeouts must fire -- as deadlines
# for the whole reply, not idle timers that every byte restarts -- the messages are
# deferred and retried later, and mail for good.test goes through meanwhile.
import re
import socket
import threading
import time

import pytest

import harness
import remote_peers
from messages import make_message
from remote_peers import Postfix, Unbound, inject, peers, sender_mailbag  # noqa: F401

pytestmark = [
    pytest.mark.skipif(not harness.is_root(), reason="needs root: peers listen on 127.x port 25"),
    pytest.mark.skipif(not remote_peers.have(remote_peers.POSTFIX), reason="postfix not installed"),
    pytest.mark.skipif(not remote_peers.have(remote_peers.UNBOUND), reason="unbound not installed"),
]


class BadPeer:
    """A hostile SMTP server on `ip`:25 in one of two modes: "stall" (never answers the
    end of data) or "drip" (an endless greeting, one byte a second). Counts connections;
    each is served by its own thread until stop()."""

    def __init__(self, mode):
        self.mode = mode
        self.ip = harness.unique_loopback()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((self.ip, 25))
        self.sock.listen(16)
        self.connections = 0
        self.got_data = 0
        self.stopping = threading.Event()
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopping.is_set():
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            self.conns.append(c)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        try:
            if self.mode == "drip":
                line = b"220-mx.drip.test is very slow to say hello\r\n"
                while not self.stopping.is_set():
                    for b in line:
                        c.sendall(bytes([b]))
                        if self.stopping.wait(1):
                            return
            f = c.makefile("rb")
            c.sendall(b"220 mx.stall.test ESMTP\r\n")
            while not self.stopping.is_set():
                cmd = f.readline()
                if not cmd:
                    return
                verb = cmd[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    c.sendall(b"250-mx.stall.test\r\n250 8BITMIME\r\n")
                elif verb == b"DATA":
                    c.sendall(b"354 go ahead\r\n")
                    while f.readline() not in (b".\r\n", b""):
                        pass
                    self.got_data += 1
                    self.stopping.wait()  # the final dot is never answered
                    return
                elif verb == b"QUIT":
                    c.sendall(b"221 bye\r\n")
                    return
                else:
                    c.sendall(b"250 ok\r\n")
        except OSError:
            pass
        finally:
            c.close()

    def stop(self):
        self.stopping.set()
        self.sock.close()
        for c in self.conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


@pytest.fixture
def bad_peers():
    made = []

    def make(mode):
        p = BadPeer(mode)
        made.append(p)
        return p

    yield make
    for p in made:
        p.stop()


def test_stalling_and_dripping_peers_time_out_and_do_not_hold_up_other_mail(make_mailbag, peers, bad_peers):
    stall = bad_peers("stall")
    drip = bad_peers("drip")
    good = peers(Postfix("good.test", ["bob"]).start())
    dns = peers(Unbound(["stall.test", "drip.test", "good.test"], [
        "stall.test. MX 10 mx.stall.test.", "mx.stall.test. A %s" % stall.ip,
        "drip.test. MX 10 mx.drip.test.", "mx.drip.test. A %s" % drip.ip,
        "good.test. MX 10 mx.good.test.", "mx.good.test. A %s" % good.ip]).start())
    m = sender_mailbag(make_mailbag, dns, remote_timeout="2s")

    q_stall = inject(m, "demo@example.test", ["alice@stall.test"], make_message("stall", 1, to="alice@stall.test")[1])
    q_drip = inject(m, "demo@example.test", ["carol@drip.test"], make_message("drip", 1, to="carol@drip.test")[1])
    for _ in harness.deadline_loop(10, "both bad peers to be connected"):
        if stall.got_data and drip.connections:
            break
    # Both bad peers now hold a connection; mail for a good peer goes through at once.
    t0 = time.monotonic()
    _, msg = make_message("good", 1, to="bob@good.test")
    q_good = inject(m, "demo@example.test", ["bob@good.test"], msg, body_8bit=True)
    good.wait_for_messages("bob", 1, timeout=10, check=m.check_alive)
    assert time.monotonic() - t0 < 5, "mail for a good peer waited behind the stalled ones"

    # The deadlines fire (greeting 2 s, end of data 4 s), the messages are deferred...
    line = m.wait_for_log("remote", r"%s: to=<carol@drip\.test>, .*status=deferred \(.*timed out" % q_drip, timeout=15)
    assert "initial greeting" in line, line
    line = m.wait_for_log("remote", r"%s: to=<alice@stall\.test>, .*status=deferred \(.*timed out" % q_stall,
                          timeout=15)
    assert "after sending the message data" in line, line
    assert re.search(r"timeout waiting for the reply to initial greeting", m.logs("remote"))
    # ... and retried later (queue_retry_min is 1 s in the harness): new connections.
    for _ in harness.deadline_loop(20, "the bad peers to be tried again"):
        if stall.connections >= 2 and drip.connections >= 2:
            break
    assert q_stall in m.queue_files() and q_drip in m.queue_files()
    assert q_good not in m.queue_files()
    m.check_alive()


def test_clients_stalling_or_dripping_into_smtpd_hold_up_nobody(mb):
    # The other direction: one client stops in the middle of its DATA, another sends its
    # commands a byte at a time. smtpd serves everybody else meanwhile, and the stalled
    # message is never queued (it never got its final dot).
    stalled = mb.raw()
    for cmd in ("EHLO stall.example.net", "MAIL FROM:<a@example.net>", "RCPT TO:<demo@example.test>"):
        assert stalled.cmd(cmd)[0] == 250
    assert stalled.cmd("DATA")[0] == 354
    stalled.send(b"Subject: half\r\n\r\nthe first half, and then nothing")
    dripper = mb.raw()
    stop = threading.Event()

    def drip():
        try:
            for b in b"EHLO drip.example.net\r\n" * 10:
                if stop.wait(0.2):
                    return
                dripper.send(bytes([b]))
        except OSError:
            pass

    t = threading.Thread(target=drip)
    t.start()
    try:
        t0 = time.monotonic()
        for n in range(5):
            mid, msg = make_message("meanwhile", n)
            assert mb.send("demo@example.test", msg).code == 250
        assert time.monotonic() - t0 < 10
        mb.wait_for_messages("demo@example.test", 5)
    finally:
        stop.set()
        t.join()
        stalled.close()
        dripper.close()
    mb.wait_queue_empty()
    time.sleep(0.5)
    assert len(mb.maildir_messages("demo@example.test")) == 5
    assert "half" not in "".join(d.decode("utf-8", "replace") for d in mb.read_messages("demo@example.test").values())
    mb.check_alive()
