# A hostile lower-privileged peer on the queue manager's internal sockets (fault
# injection; the rule: "a malformed frame from a less-privileged peer is logged and the
# connection dropped, and the receiving process carries on").
#   private/submit (smtpd, sendmail, local; group mb-drop): garbage instead of a Hello, a
#     wrong protocol or version, an oversized frame, a message type that does not belong
#     there, a short Submit, two descriptors on one frame, and Submits whose descriptor is
#     missing, a directory, a named file, a pipe, garbage or a truncated queue file;
#   private/local (the local agent, uid mb-vmail when root): answers with an unknown
#     delivery id, the wrong number of verdicts, an outcome that does not exist, garbage,
#     an oversized frame; a connection from the wrong uid.
# After each the queue manager is still running, and real mail still flows; a message
# whose delivery a fake agent botched is delivered (once) by the real agent later.
import json
import os
import re
import shutil
import socket
import subprocess
import time

import pytest

import harness
import ipc_wire as w
from messages import make_message
from remote_peers import new_queue_id

USER = "demo@example.test"
HERE = os.path.dirname(os.path.abspath(__file__))


def submit_conn(m, role="smtpd"):
    sock = w.connect(os.path.join(m.spool, "private", "submit"))
    w.send(sock, w.hello("mailbag-submit", role))
    t, payload, _ = w.recv(sock)
    assert t == w.HELLO, t
    return sock


def submit_reply(sock, request_id):
    while True:
        r = w.recv(sock)
        assert r is not None, "queue manager closed the connection instead of answering"
        if r[0] == w.SUBMIT_DONE:
            done = w.parse_submit_done(r[1])
            assert done[0] == request_id, done
            return done


def tmpfile(m, data):
    fd = os.open(os.path.join(m.spool, "incoming"), os.O_TMPFILE | os.O_RDWR, 0o660)
    os.fchmod(fd, 0o660)
    os.write(fd, data)
    return fd


def envelope(qid, data):
    return ("MBQ1\nI %s\nT %d\nP local\nB 7BIT\nS <a@example.net>\nR <%s>\nZ %020d %020d\nE\n"
            % (qid, int(time.time()), USER, len(data), data.count(b"\n"))).encode() + data


def check_still_serving(m, tag):
    mid, msg = make_message(tag, 1)
    for _ in harness.deadline_loop(10, "250 from smtpd"):
        r = m.send(USER, msg)
        if r.code == 250:
            break
    m.find_message(USER, mid)
    m.check_alive()


def test_hostile_submitter_is_dropped_and_the_queue_manager_carries_on(mb):
    path = os.path.join(mb.spool, "private", "submit")
    dropped = {}

    def closed(name, frames, fds=(), hello=True):
        sock = submit_conn(mb) if hello else w.connect(path)
        try:
            for f in frames:
                w.send(sock, f, fds)
            dropped[name] = w.closed_by_peer(sock)
        finally:
            sock.close()

    closed("garbage", [b"\x00\x00\x00\x0a\x00\x01garbage!!"], hello=False)
    closed("a Submit instead of Hello", [w.frame(w.SUBMIT, w.u64(1))], hello=False)
    closed("wrong protocol", [w.hello("mailbag-deliver", "local")], hello=False)
    closed("wrong version", [w.hello("mailbag-submit", "smtpd", version=99)], hello=False)
    closed("length field lies", [w.frame(w.SUBMIT, w.u64(1))[:-3]])
    closed("oversized frame", [w.frame(w.SUBMIT, b"x" * (w.MAX_FRAME + 1000))])
    closed("wrong message type", [w.deliver_done(1, [])])
    closed("short Submit", [w.frame(w.SUBMIT, b"\x00\x01")])
    closed("Submit with trailing bytes", [w.frame(w.SUBMIT, w.u64(1) + b"extra")])
    r1, r2 = os.pipe()
    closed("two descriptors", [w.frame(w.SUBMIT, w.u64(1))], fds=(r1, r2))
    os.close(r1)
    os.close(r2)
    assert all(dropped.values()), dropped
    # Logged when the queue manager tidies up the connection, a moment after it hung up.
    for pattern in ("first frame is not a valid Hello", "frame length does not match datagram",
                    "frame larger than the limit", "unexpected control data on socket",
                    "peer speaks mailbag-deliver version %d, want mailbag-submit version %d" % (w.PROTO_VERSION, w.PROTO_VERSION),
                    "malformed frame from submitter smtpd"):
        mb.wait_for_log("queue-manager", re.escape(pattern), timeout=10)

    # Submits the queue manager refuses without dropping the connection: each gets a
    # temporary SubmitDone, and the next request on the same connection still works.
    sock = submit_conn(mb)
    refused = {}

    def submit(name, rid, fd=None):
        w.send(sock, w.frame(w.SUBMIT, w.u64(rid)), () if fd is None else (fd,))
        refused[name] = submit_reply(sock, rid)

    submit("no descriptor", 1)
    d = os.open(mb.spool, os.O_RDONLY | os.O_DIRECTORY)
    submit("a directory", 2, d)
    named = open(mb.conf_path, "rb")
    submit("a named file", 3, named.fileno())
    pr, pw = os.pipe()
    submit("a pipe", 4, pr)
    g = tmpfile(mb, os.urandom(2000))
    submit("garbage", 5, g)
    qid = new_queue_id()
    t = tmpfile(mb, envelope(qid, b"Subject: cut\n\nthis message is longer than the file\n")[:-10])
    submit("truncated", 6, t)
    for fd in (d, pr, pw, g, t):
        os.close(fd)
    named.close()
    for name, (rid, outcome, status, text, queued) in refused.items():
        assert outcome == 1 and status.startswith("4.") and queued == "", (name, status, text)
    # The same connection then queues a good file.
    good = new_queue_id()
    f = tmpfile(mb, envelope(good, b"Subject: good\nMessage-ID: <good@ipc>\n\nafter all that\n"))
    submit("good", 7, f)
    os.close(f)
    assert refused["good"][1] == 0 and refused["good"][4] == good, refused["good"]
    sock.close()
    mb.find_message(USER, "<good@ipc>")
    for why in ("no file descriptor", "not an unlinked regular file", "bad magic", "truncated"):
        mb.wait_for_log("queue-manager", r"rejected queue file from smtpd: .*%s" % why, timeout=10)
    assert qid not in mb.queue_files()
    check_still_serving(mb, "after-submit-abuse")


# Runs as the local agent's user (when root): connects to private/local as a fake agent,
# waits for a Deliver, misbehaves in the way argv[3] says, and reports whether the queue
# manager dropped it.
AGENT = r"""
import json, os, socket, sys
sys.path.insert(0, sys.argv[1])
import ipc_wire as w
mode = sys.argv[3]
out = {}
sock = w.connect(sys.argv[2], timeout=15)
w.send(sock, w.hello("mailbag-deliver", "local"))
t, _, _ = w.recv(sock)
while True:
    r = w.recv(sock)
    if r is None:
        break
    t, payload, fds = r
    for fd in fds:
        os.close(fd)
    if t == w.DELIVER:
        out["deliver"] = w.parse_deliver(payload)
        break
d = out.get("deliver")
if d:
    did, n = d["delivery_id"], len(d["recipients"])
    ok = w.verdict(0, "2.0.0", "delivered")
    frames = {
        "unknown id": w.deliver_done(did + 1000, [ok] * n),
        "wrong number of verdicts": w.deliver_done(did, [ok] * (n + 1)),
        "bad outcome": w.deliver_done(did, [w.verdict(9, "2.0.0", "what")] * n),
        "garbage": b"\xff" * 40,
        "oversized": w.frame(w.DELIVER_DONE, b"\0" * (w.MAX_FRAME + 1000)),
    }
    try:
        w.send(sock, frames[mode])
        out["closed"] = w.closed_by_peer(sock)
    except OSError as e:
        out["closed"] = True
        out["send_error"] = str(e)
print(json.dumps(out))
"""


AGENT_MODES = ("unknown id", "wrong number of verdicts", "bad outcome", "garbage", "oversized")


def fake_agents(m, transport, argv_as_agent, queue_id):
    """Runs one fake `transport` agent per misbehaviour (AGENT, as the agent's user): each
    must get the Deliver of `queue_id` and be dropped for what it answers, with the
    queue manager's log saying why."""
    sock_path = os.path.join(m.spool, "private", transport)
    script = AGENT.replace('w.hello("mailbag-deliver", "local")', 'w.hello("mailbag-deliver", "%s")' % transport)
    results = {}
    for mode in AGENT_MODES:
        p = subprocess.run(argv_as_agent(m, ["/usr/bin/python3", "-c", script, HERE, sock_path, mode]),
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, (mode, p.stdout, p.stderr)
        out = json.loads(p.stdout.strip().splitlines()[-1])
        assert out.get("deliver", {}).get("queue_id") == queue_id, (mode, out, m.logs("queue-manager")[-2000:])
        results[mode] = out
    assert all(o["closed"] for o in results.values()), results
    for pattern in ("%s agent protocol error: unknown delivery id",
                    "%s agent protocol error: wrong number of verdicts",
                    "%s agent protocol error: malformed message: bad enum value",
                    "%s delivery agent disconnected: frame length does not match datagram",
                    "%s delivery agent disconnected: frame larger than the limit"):
        m.wait_for_log("queue-manager", re.escape(pattern % transport), timeout=10)


def as_local_agent(m, args):
    """argv to run as the local agent's user and groups (when root; as is otherwise)."""
    if not harness.is_root():
        return args
    return ["setpriv", "--reuid=mb-vmail", "--regid=mb-mail", "--groups=mb-acct,mb-drop", "--"] + args


@pytest.mark.skipif(harness.is_root() and not shutil.which("setpriv"), reason="needs setpriv")
def test_hostile_delivery_agent_is_dropped_and_the_message_is_not_lost(mb):
    mb.kill("local")
    mid, msg = make_message("fake-agent", 1)
    r = mb.send(USER, msg)
    assert r.code == 250, r
    sock_path = os.path.join(mb.spool, "private", "local")
    fake_agents(mb, "local", as_local_agent, r.queue_id)

    if harness.is_root():
        # The socket's mode lets root in, but only the agent's uid may speak there.
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.connect(sock_path)
        assert w.closed_by_peer(s)
        s.close()
        mb.wait_for_log("queue-manager", r"refused local agent connection from uid 0 \(want %d\)"
                        % harness.uid_of("mb-vmail"))

    # Nothing was delivered by the fakes' false claims: the real agent delivers it, once.
    mb.start_daemon("local")
    mb.find_message(USER, mid)
    mb.wait_queue_empty()
    assert len(mb.maildir_messages(USER)) == 1
    check_still_serving(mb, "after-agent-abuse")
