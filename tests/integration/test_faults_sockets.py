# A hostile peer on the Unix sockets that test_faults_ipc.py does not cover (fault
# injection; the rule: "a malformed frame from a less-privileged peer is logged and the
# connection dropped, and the receiving process carries on"):
#   signer/sign (the DKIM signer; only the remote agent's uid): garbage before Hello, an
#     oversized frame, a frame type that does not belong there, a Sign without a file,
#     with a directory, a pipe, two descriptors, or a queue file of another queue id; a
#     connection from another uid. Afterwards the signer still signs.
#   private/remote (the remote agent's side of the queue manager; only mb-remote): the
#     fake agents of test_faults_ipc.py answer a Deliver with an unknown delivery id,
#     the wrong number of verdicts, a bad outcome, garbage, an oversized frame.
#   private/control (mailctl's side of the queue manager; root): garbage, an oversized
#     frame, an unknown or misplaced message type, a request cut short.
# After each the daemon is still running and real work still gets done.
import grp
import json
import os
import shutil
import socket
import subprocess
import time

import pytest

import harness
import ipc_wire as w
from messages import make_message
from remote_peers import inject
from test_faults_ipc import HERE, check_still_serving, fake_agents

USER = "demo@example.test"
SIGN, SIGN_DONE = 50, 51

pytestmark = [
    pytest.mark.skipif(not harness.is_root(), reason="needs root (peers run as the daemons' users)"),
    pytest.mark.skipif(not shutil.which("setpriv"), reason="needs setpriv"),
]


def as_user(user, args):
    return ["setpriv", "--reuid=" + user, "--regid=" + user, "--clear-groups", "--"] + args


# Runs as the remote agent's user: speaks to the DKIM signer as argv[3] says and prints
# what came back (the reply's result and header, or that the signer hung up).
SIGNER_PEER = r"""
import json, os, struct, sys
sys.path.insert(0, sys.argv[1])
import ipc_wire as w
path, mode, qid = sys.argv[2], sys.argv[3], sys.argv[4]
SIGN, SIGN_DONE = 50, 51

def sign(rid, queue_id):
    return w.frame(SIGN, w.u64(rid) + w.s(queue_id))

# The queue file the test made (root:mb-queue, as the queue's files are), passed down
# as descriptor argv[5]: the signer signs only files of the queue's groups.
qfd = int(sys.argv[5])
out = {}
sock = w.connect(path, timeout=15)
frames, fds, hello = [], (), True
if mode == "garbage":
    frames, hello = [b"\xff" * 40], False
elif mode == "sign before hello":
    frames, hello = [sign(1, qid)], False
elif mode == "oversized":
    frames = [w.frame(SIGN, b"\0" * (w.MAX_FRAME + 1000))]
elif mode == "wrong type":
    frames = [w.deliver_done(1, [])]
elif mode == "short Sign":
    frames = [w.frame(SIGN, b"\0\1")]
elif mode == "no file":
    frames = [sign(2, qid)]
elif mode == "directory":
    d = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
    frames, fds = [sign(3, qid)], (d,)
elif mode == "pipe":
    r, wr = os.pipe()
    os.write(wr, b"MBQ1\n")
    frames, fds = [sign(4, qid)], (r,)
elif mode == "two files":
    frames, fds = [sign(5, qid)], (qfd, os.dup(qfd))
elif mode == "other queue id":
    frames, fds = [sign(6, "0123456789ABCDEF")], (qfd,)
elif mode == "good":
    frames, fds = [sign(7, qid)], (qfd,)
try:
    if hello:
        w.send(sock, w.hello("mailbag-sign", "remote"))
        t, _, _ = w.recv(sock)
        out["hello"] = t == w.HELLO
    for fr in frames:
        w.send(sock, fr, fds)
    r = w.recv(sock)
    if r is None:
        out["closed"] = True
    else:
        t, payload, _ = r
        out["type"] = t
        if t == SIGN_DONE:
            (rid,) = struct.unpack_from(">Q", payload, 0)
            result = payload[8]
            header, pos = w.read_str(payload, 9)
            text, pos = w.read_str(payload, pos)
            out.update(rid=rid, result=result, header=header, text=text)
        out["closed_after"] = w.closed_by_peer(sock, timeout=2) if t != SIGN_DONE else False
except OSError as e:
    out["closed"] = True
    out["error"] = str(e)
print(json.dumps(out))
"""


def queue_file(m, qid):
    """A read-only descriptor of a queue file for `qid` from an authenticated user of a
    local domain, owned as the queue's files are (root:mb-queue 0640 here)."""
    body = b"From: demo@example.test\nTo: alice@peer.test\nSubject: sign me\nMessage-ID: <s@example.test>\n\nhello\n"
    env = ("MBQ1\nI %s\nT %d\nP ESMTPSA\nC client.example.net [127.0.0.1]\nA demo@example.test\nB 7BIT\n"
           "S <demo@example.test>\nR <alice@peer.test>\nJ 0\nZ %020d %020d\nE\n"
           % (qid, int(time.time()), len(body), body.count(b"\n"))).encode()
    path = os.path.join(m.dir, "signer-test-" + qid)
    with open(path, "wb") as f:
        f.write(env + body)
    os.chown(path, 0, grp.getgrnam("mb-queue").gr_gid)
    os.chmod(path, 0o640)
    fd = os.open(path, os.O_RDONLY)
    os.unlink(path)
    return fd


def signer_peer(m, mode, qid):
    fd = queue_file(m, qid)
    try:
        p = subprocess.run(as_user("mb-remote", ["/usr/bin/python3", "-c", SIGNER_PEER, HERE,
                                                 os.path.join(m.spool, "signer", "sign"), mode, qid, str(fd)]),
                           capture_output=True, text=True, timeout=60, pass_fds=(fd,))
    finally:
        os.close(fd)
    assert p.returncode == 0, (mode, p.stdout, p.stderr)
    return json.loads(p.stdout.strip().splitlines()[-1])


def test_hostile_peer_on_the_signer_socket(make_mailbag):
    m = make_mailbag()
    r = m.mailctl("dkim", "generate", "example.test")
    assert "._domainkey.example.test." in r.stdout, r.stdout
    m.start_daemon("dkim")
    qid = "66A0B1C2D3E4F501"
    got = {mode: signer_peer(m, mode, qid)
           for mode in ("garbage", "sign before hello", "oversized", "wrong type", "short Sign", "no file",
                        "directory", "pipe", "two files", "other queue id")}
    for mode in ("garbage", "sign before hello", "oversized", "wrong type", "short Sign", "two files"):
        assert got[mode].get("closed") or got[mode].get("closed_after"), (mode, got[mode])
    # Requests that are well formed but name no usable file: answered "try later", and the
    # connection stays usable (the remote agent then defers that message).
    for mode in ("no file", "directory", "pipe", "other queue id"):
        assert got[mode].get("result") == 2, (mode, got[mode])  # SignResult::kTempFail
    for why in ("no queue file passed", "refused descriptor: not a regular file", "queue id mismatch"):
        m.wait_for_log("dkim", "cannot sign, the message waits: " + why)
    for why in ("unexpected message type", "malformed message"):
        m.wait_for_log("dkim", "protocol error from the remote agent: " + why)
    m.check_alive()
    # Still signing for the real agent's uid.
    good = signer_peer(m, "good", qid)
    assert good.get("result") == 0 and good["header"].startswith("DKIM-Signature:"), good
    assert "d=example.test" in good["header"].replace("\n", "").replace(" ", "")
    # Root may open the socket (its mode says so) but is not the remote agent.
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(os.path.join(m.spool, "signer", "sign"))
    assert w.closed_by_peer(s)
    s.close()
    m.wait_for_log("dkim", r"refused a connection from uid 0 \(only the remote agent")
    m.check_alive()


def test_hostile_remote_agent_is_dropped_and_the_message_is_not_lost(make_mailbag):
    m = make_mailbag()
    # A message for another domain waits for the remote agent; fake agents take it in turn.
    qid = inject(m, USER, ["x@peer.test"], make_message("fake-remote", 1)[1])
    fake_agents(m, "remote", lambda _m, args: as_user("mb-remote", args), qid)
    # The message is still queued (nothing believed the fakes), and local mail flows.
    assert qid in m.queue_files()
    r = m.mailctl("queue", "show", qid)
    assert "x@peer.test" in r.stdout, r.stdout
    check_still_serving(m, "after-remote-abuse")


def test_hostile_client_on_the_control_socket(make_mailbag):
    m = make_mailbag()
    path = os.path.join(m.spool, "private", "control")
    dropped = {}

    def closed(name, frames, hello=True):
        sock = w.connect(path)
        try:
            if hello:
                w.send(sock, w.hello("mailbag-control", "mailctl"))
                t, _, _ = w.recv(sock)
                assert t == w.HELLO
            for f in frames:
                w.send(sock, f)
            dropped[name] = w.closed_by_peer(sock)
        finally:
            sock.close()

    closed("garbage", [b"\x00\x00\x00\x0a\x00\x01garbage!!"], hello=False)
    closed("oversized", [w.frame(30, b"x" * (w.MAX_FRAME + 1000))])
    closed("unknown type", [w.frame(999, b"")])
    closed("wrong type", [w.deliver_done(1, [])])
    closed("short request", [w.frame(30, b"\x01")])
    assert all(dropped.values()), dropped
    m.check_alive()
    # mailctl still gets its answers.
    r = m.mailctl("queue", "list")
    assert r.returncode == 0 and r.stdout == "Mail queue is empty\n", (r.stdout, r.stderr)
    check_still_serving(m, "after-control-abuse")
