# Helpers for the mailbox feature tests (test_mailbox*.py, test_dovecot*.py): messages of
# a chosen size, reading queue files' envelopes (what the local agent submitted), the
# local agent's log, and writing an accounts record the way only a damaged or older
# database could hold it (mdb_load, for loops mailctl refuses to create).
import os
import struct
import subprocess
import tempfile

import harness


def sized_message(tag, size, to="demo@example.test", sender="sender@example.net", extra_headers=()):
    """A CRLF message of about `size` bytes with a unique Message-ID; returns (id, bytes)."""
    mid = "<%s@test.example.net>" % tag
    head = [
        "From: <%s>" % sender,
        "To: <%s>" % to,
        "Subject: %s" % tag,
        "Message-ID: %s" % mid,
        "Date: Mon, 01 Jan 2024 00:00:00 +0000",
    ] + list(extra_headers)
    text = "\r\n".join(head) + "\r\n\r\n"
    line = "x" * 76 + "\r\n"
    while len(text) + len(line) <= size:
        text += line
    return mid, text.encode()


def queued_envelopes(m):
    """{queue id: (sender, [recipients])} of the files in spool/queue (needs to be able
    to read them: root, or the owner)."""
    out = {}
    qdir = os.path.join(m.spool, "queue")
    for name in m.queue_files():
        try:
            with open(os.path.join(qdir, name), "rb") as f:
                head = f.read(65536)
        except FileNotFoundError:
            continue
        sender, rcpts = None, []
        for line in head.split(b"\n"):
            if line == b"E":
                break
            if line.startswith(b"S "):
                sender = line[2:].decode().strip("<>")
            elif line.startswith(b"R "):
                rcpts.append(line[2:].decode().strip("<>"))
        out[name] = (sender, rcpts)
    return out


def wait_for_queued(m, pred, what, timeout=30):
    """Waits until a queued message's (sender, recipients) satisfies `pred`; returns it."""
    for _ in harness.deadline_loop(timeout, what):
        for qid, env in queued_envelopes(m).items():
            if pred(*env):
                return qid, env
        m.check_alive()


def maildirsize(m, user):
    """(quota definition, bytes, count) from the user's maildirsize, or None."""
    try:
        with open(os.path.join(m.maildir(user), "maildirsize")) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return None
    b = c = 0
    for ln in lines[1:]:
        x, y = ln.split()
        b += int(x)
        c += int(y)
    return lines[0], b, c


def maildir_usage(m, user):
    """(bytes, count) of the messages really in the Maildir (S= of the name, else size),
    new/, cur/ and Maildir++ folders, as a recalculation counts them."""
    base = m.maildir(user)
    dirs = [base] + [os.path.join(base, d) for d in os.listdir(base)
                     if d.startswith(".") and os.path.isdir(os.path.join(base, d))]
    b = c = 0
    for d in dirs:
        for sub in ("new", "cur"):
            p = os.path.join(d, sub)
            if not os.path.isdir(p):
                continue
            for n in os.listdir(p):
                name = n.split(":")[0]
                size = None
                for field in name.split(",")[1:]:
                    if field.startswith("S="):
                        size = int(field[2:])
                if size is None:
                    size = os.path.getsize(os.path.join(p, n))
                b += size
                c += 1
    return b, c


def _enc_str(s):
    b = s.encode()
    return struct.pack(">I", len(b)) + b


def put_alias_raw(m, address, targets):
    """Writes an alias record straight into accounts.mdb (the IPC codec's layout: u32
    version, string address, vector of strings) with mdb_load, bypassing mailctl's
    checks, as a damaged or hand-edited database could hold it."""
    value = struct.pack(">I", 1) + _enc_str(address) + struct.pack(">I", len(targets))
    for t in targets:
        value += _enc_str(t)
    dump = "VERSION=3\nformat=bytevalue\ntype=btree\nHEADER=END\n %s\n %s\nDATA=END\n" % (
        address.encode().hex(), value.hex())
    with tempfile.NamedTemporaryFile("w", suffix=".dump", delete=False) as f:
        f.write(dump)
        path = f.name
    try:
        subprocess.run(["mdb_load", "-n", "-s", "aliases", "-f", path, os.path.join(m.data, "accounts.mdb")],
                       check=True, capture_output=True)
    finally:
        os.unlink(path)


def local_log_count(m, pattern):
    import re
    rx = re.compile(pattern)
    return sum(1 for ln in m.logs("local").splitlines() if rx.search(ln))
