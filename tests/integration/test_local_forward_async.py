# The local agent keeps delivering while a forward it sent waits for the queue manager.
# The test plays the queue manager itself, on both of its sockets (private/local, where
# the agent takes Deliver requests, and private/submit, where the agent hands in the
# forwarded copy): it sends a message for a user who forwards, takes the agent's Submit
# and does not answer it; then it sends a message for another user, which must be
# delivered and answered at once. Only when the SubmitDone goes back is the first
# recipient answered, with the forward in its verdict. (When the agent waited for the
# SubmitDone on its one thread, the second answer came only after its 60 s deadline.)
import os
import socket
import time

import ipc_wire as w
from messages import make_message

DEMO = "demo@example.test"
ALICE = "alice@example.test"


def listen(path):
    if os.path.exists(path):
        os.unlink(path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.bind(path)
    os.chmod(path, 0o666)  # the agent runs as its own user when we are root
    s.listen(4)
    s.settimeout(20)
    return s


def queue_file(tmpdir, qid, rcpt, data):
    """A read-only descriptor of a queue file for `rcpt` and its data offset."""
    head = ("MBQ1\nI %s\nT %d\nP ESMTP\nB 7BIT\nS <sender@example.net>\nR <%s>\nZ %020d %020d\nE\n"
            % (qid, int(time.time()), rcpt, len(data), data.count(b"\n"))).encode()
    path = os.path.join(tmpdir, qid)
    with open(path, "wb") as f:
        f.write(head + data)
    return os.open(path, os.O_RDONLY), len(head)


def send_deliver(sock, tmpdir, did, qid, rcpt, data):
    data = data.replace(b"\r\n", b"\n")  # queue files hold LF line ends
    fd, offset = queue_file(tmpdir, qid, rcpt, data)
    try:
        w.send(sock, w.deliver(did, qid, "sender@example.net", [rcpt], offset, len(data), data.count(b"\n"),
                               arrival=int(time.time())), [fd])
    finally:
        os.close(fd)


def next_frame(sock, want, timeout):
    """The next frame of type `want` within `timeout` seconds (others skipped), or None."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        sock.settimeout(max(0.05, end - time.monotonic()))
        try:
            r = w.recv(sock)
        except (socket.timeout, TimeoutError):
            return None
        assert r is not None, "the local agent closed the connection"
        t, payload, fds = r
        for fd in fds:
            os.close(fd)
        if t == want:
            return payload
    return None


def test_local_delivers_while_a_forward_waits_for_the_queue_manager(make_mailbag, tmp_path):
    m = make_mailbag(users=((DEMO, "demo-secret"), (ALICE, "alice-secret")))
    m.mailctl("user", "set", DEMO, "forward=carol@far.example")
    m.kill("local")
    m.kill("queue-manager")
    m.check_alive = lambda: None  # the queue manager is ours, on purpose
    private = os.path.join(m.spool, "private")
    deliver_l = listen(os.path.join(private, "local"))
    submit_l = listen(os.path.join(private, "submit"))
    m.start_daemon("local")
    agent, _ = deliver_l.accept()
    agent.settimeout(20)
    w.send(agent, w.hello("mailbag-deliver", "queue-manager"))
    assert w.recv(agent)[0] == w.HELLO

    # 1. demo forwards: the agent hands the copy in on private/submit; no answer yet.
    mid1, msg1 = make_message("fwd-wait", 1, to=DEMO)
    send_deliver(agent, str(tmp_path), 1, "66202D0000000001", DEMO, msg1)
    sub, _ = submit_l.accept()
    sub.settimeout(20)
    w.send(sub, w.hello("mailbag-submit", "queue-manager"))
    submit = next_frame(sub, w.SUBMIT, 20)
    assert submit is not None, "the local agent did not submit the forward"
    (request_id,) = w.struct.unpack_from(">Q", submit, 0)

    # 2. Meanwhile alice's message is delivered and answered at once.
    mid2, msg2 = make_message("fwd-wait", 2, to=ALICE)
    t0 = time.monotonic()
    send_deliver(agent, str(tmp_path), 2, "66202D0000000002", ALICE, msg2)
    done = next_frame(agent, w.DELIVER_DONE, 10)
    assert done is not None, "no answer for alice while the forward's submission is outstanding"
    did, verdicts = w.parse_deliver_done(done)
    assert did == 2 and verdicts[0][0] == 0, (did, verdicts)
    assert time.monotonic() - t0 < 10
    m.find_message(ALICE, mid2, timeout=5)
    assert not m.maildir_messages(DEMO), "demo's copy must wait for the forward to be queued"

    # 3. The queue manager takes the forward: now demo is answered, copy and forward.
    w.send(sub, w.submit_done(request_id, 0, "2.0.0", "queued", "66202D00000000F1"))
    done = next_frame(agent, w.DELIVER_DONE, 10)
    assert done is not None, "no answer for demo after the SubmitDone"
    did, verdicts = w.parse_deliver_done(done)
    assert did == 1 and verdicts[0][0] == 0, (did, verdicts)
    assert "forwarded as" in verdicts[0][2], verdicts
    m.find_message(DEMO, mid1, timeout=5)
    for s in (agent, sub, deliver_l, submit_l):
        s.close()
