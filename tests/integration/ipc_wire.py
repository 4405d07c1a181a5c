# The internal wire format (common/ipc/codec.hpp, man mailbag-ipc 7) in Python, for tests
# that play a hostile peer on the queue manager's sockets (test_faults_ipc.py): a frame
# is u32 length (header included), u16 type, payload; integers big-endian, strings and
# vectors with a u32 length. One SOCK_SEQPACKET datagram is one frame.
import os
import socket
import struct

HELLO, SUBMIT, SUBMIT_DONE, ETRN, DELIVER, DELIVER_DONE = 1, 10, 11, 12, 20, 21
MAX_FRAME = 128 * 1024


def u8(v):
    return struct.pack(">B", v)


def u32(v):
    return struct.pack(">I", v)


def u64(v):
    return struct.pack(">Q", v)


def s(v):
    b = v.encode() if isinstance(v, str) else v
    return u32(len(b)) + b


def frame(msg_type, payload):
    return struct.pack(">IH", 6 + len(payload), msg_type) + payload


PROTO_VERSION = 4  # common/ipc/msg_types.hpp kProtoVersion


def hello(protocol, role, version=PROTO_VERSION):
    return frame(HELLO, s(protocol) + u32(version) + s(role))


def verdict(outcome, status, text):
    return u8(outcome) + s(status) + s(text)


def deliver(delivery_id, queue_id, sender, recipients, data_offset, data_size, data_lines,
            arrival=0, check_duplicates=False, origin=0):
    """A Deliver frame (pass the queue file's fd along with it); origin 0 submitter,
    1 local agent, 2 queue manager."""
    return frame(DELIVER, u64(delivery_id) + s(queue_id) + struct.pack(">q", arrival) + s(sender)
                 + u32(len(recipients)) + b"".join(s(r) for r in recipients) + s("")
                 + u64(data_offset) + u64(data_size) + u64(data_lines)
                 + u8(0) + u8(0) + u8(1 if check_duplicates else 0) + u8(origin))


def submit_done(request_id, outcome, status, text, queue_id):
    return frame(SUBMIT_DONE, u64(request_id) + verdict(outcome, status, text) + s(queue_id))


def parse_deliver_done(payload):
    """(delivery_id, [(outcome, status, text)]) of a DeliverDone payload."""
    (did,) = struct.unpack_from(">Q", payload, 0)
    (n,) = struct.unpack_from(">I", payload, 8)
    pos, out = 12, []
    for _ in range(n):
        outcome = payload[pos]
        status, pos = read_str(payload, pos + 1)
        text, pos = read_str(payload, pos)
        out.append((outcome, status, text))
    return did, out


def deliver_done(delivery_id, verdicts):
    """With no dsn_passed bits (an empty vector, as the local agent sends)."""
    return frame(DELIVER_DONE, u64(delivery_id) + u32(len(verdicts)) + b"".join(verdicts) + u32(0))


def connect(path, timeout=10):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    sock.settimeout(timeout)
    sock.connect(path)
    return sock


def send(sock, data, fds=()):
    if fds:
        socket.send_fds(sock, [data], list(fds))
    else:
        sock.send(data)


def recv(sock):
    """(type, payload, [fds]) of the next frame, or None when the peer closed."""
    data, fds, _, _ = socket.recv_fds(sock, MAX_FRAME + 1, 4)
    if not data:
        for fd in fds:
            os.close(fd)
        return None
    length, msg_type = struct.unpack_from(">IH", data, 0)
    assert length == len(data), (length, len(data))
    return msg_type, data[6:], fds


def read_str(buf, pos):
    (n,) = struct.unpack_from(">I", buf, pos)
    return buf[pos + 4:pos + 4 + n].decode("utf-8", "replace"), pos + 4 + n


def parse_deliver(payload):
    """{delivery_id, queue_id, recipients} of a Deliver payload."""
    (did,) = struct.unpack_from(">Q", payload, 0)
    qid, pos = read_str(payload, 8)
    pos += 8  # arrival
    _, pos = read_str(payload, pos)  # sender
    (n,) = struct.unpack_from(">I", payload, pos)
    pos += 4
    rcpts = []
    for _ in range(n):
        r, pos = read_str(payload, pos)
        rcpts.append(r)
    return {"delivery_id": did, "queue_id": qid, "recipients": rcpts}


def parse_submit_done(payload):
    """(request_id, outcome, status, text, queue_id) of a SubmitDone payload."""
    (rid,) = struct.unpack_from(">Q", payload, 0)
    outcome = payload[8]
    status, pos = read_str(payload, 9)
    text, pos = read_str(payload, pos)
    qid, pos = read_str(payload, pos)
    return rid, outcome, status, text, qid


def closed_by_peer(sock, timeout=5):
    """True if the peer closes the connection within `timeout` seconds (frames it sends
    meanwhile are skipped)."""
    sock.settimeout(timeout)
    try:
        while True:
            r = recv(sock)
            if r is None:
                return True
            for fd in r[2]:
                os.close(fd)
    except (socket.timeout, TimeoutError):
        return False
    except ConnectionResetError:
        return True


class RawPeer:
    """A raw client of one of the daemons' private sockets (private/auth, private/tlskey,
    private/pop3-mailbox), playing a peer that tests can make misbehave: sends the
    Hello of `protocol` unless told not to, reads whole frames, notices a hang-up."""

    def __init__(self, path, protocol, hello_first=True):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.settimeout(20)
        self.sock.connect(path)
        if hello_first:
            self.sock.send(hello(protocol, "test"))
            assert self.recv()[0] == HELLO

    def recv(self):
        """(type, payload) of the next frame; raises if the daemon hung up."""
        data = self.sock.recv(300000)
        if not data:
            raise ConnectionResetError("closed")
        length, t = struct.unpack(">IH", data[:6])
        assert length == len(data)
        return t, data[6:]

    def closed(self, timeout=10):
        """True once the daemon has hung up on us."""
        self.sock.settimeout(timeout)
        try:
            while True:
                if not self.sock.recv(300000):
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()
