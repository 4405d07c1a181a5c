#!/usr/bin/env python3
# TLS handshakes per second against smtpd's implicit-TLS port (465), with the private key
# in smtpd (tls_key_daemon = no) and in the TLS key daemon (tls_key_daemon = yes, one
# blocking round trip on private/tlskey per handshake), for RSA-2048 and ECDSA P-256
# certificates, TLS 1.3 and TLS 1.2. Each run is `openssl s_time -new` (one client,
# a full handshake per connection) for a few seconds against a fresh private instance
# (tests/integration/harness.py). Then the key daemon's round trip alone: mean time of
# one KeyOp over private/tlskey from a Python client (as root, whom the daemon serves),
# beside the time of the signature itself (`openssl speed`). Not part of `make bench`:
#   MAILBAG_BUILD=$PWD/build python3 tests/bench/tls_handshakes.py [--seconds N] [--rounds N]
import argparse
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import harness  # noqa: E402


def make_pair(directory, kind):
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    newkey = ["-newkey", "rsa:2048"] if kind == "rsa" else ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
    subprocess.run(["openssl", "req", "-x509"] + newkey + ["-nodes", "-subj", "/CN=mail.example.test", "-days", "2",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    os.chmod(key, 0o600)


def s_time(host, port, seconds, version):
    """Full handshakes per second of wall time (s_time's own figure is per second of the
    client's CPU time, or in whole seconds)."""
    t0 = time.monotonic()
    r = subprocess.run(["openssl", "s_time", "-connect", "%s:%d" % (host, port), "-new", "-time", str(seconds),
                        "-" + version], capture_output=True, text=True, timeout=seconds + 60)
    wall = time.monotonic() - t0
    m = re.search(r"(\d+) connections in \d+ real seconds", r.stdout)
    if not m or "ERROR" in r.stdout:
        raise RuntimeError("s_time: " + r.stdout[-2000:] + r.stderr)
    return int(m.group(1)) / wall


def key_op_round_trip(m, count):
    """Mean seconds per KeyOp (the signature a handshake asks for) over private/tlskey."""
    import socket
    import struct
    from ipc_wire import HELLO, frame, hello, s, u64, u8

    def recv(sock):
        data = sock.recv(70000)
        length, t = struct.unpack(">IH", data[:6])
        return t, data[6:]

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    sock.connect(os.path.join(m.spool, "private", "tlskey"))
    sock.send(hello("mailbag-tlskey", "bench"))
    assert recv(sock)[0] == HELLO
    sock.send(frame(70, u64(1) + u8(0) + s(b"") + s(b"")))  # which key?
    p = recv(sock)[1]
    (n,) = struct.unpack(">I", p[9:13])
    key_id = p[13:13 + n]
    op, data = (3, b"\x11" * 32) if m.kind == "ec" else (1, b"\x11" * 51)  # a SHA-256 digest / DigestInfo
    t0 = time.monotonic()
    for i in range(count):
        sock.send(frame(70, u64(i + 2) + u8(op) + s(key_id) + s(data)))
        t, p = recv(sock)
        assert t == 71 and p[8] == 0, p
    elapsed = time.monotonic() - t0
    sock.close()
    return elapsed / count


def openssl_sign_seconds():
    """Seconds per signature of OpenSSL itself: {"rsa": RSA-2048, "ec": ECDSA P-256}."""
    r = subprocess.run(["openssl", "speed", "-seconds", "2", "rsa2048", "ecdsap256"], capture_output=True,
                       text=True, timeout=120)
    out = {}
    for line in r.stdout.splitlines():
        f = line.split()
        if line.startswith("rsa 2048 bits") and len(f) >= 4:
            out["rsa"] = 1 / float(f[5])  # from sign/s: the seconds column is rounded
        if "ecdsa (nistp256)" in line:
            out["ec"] = 1 / float(f[6])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3, help="runs per case; the median is reported")
    ap.add_argument("--round-trip-only", action="store_true")
    args = ap.parse_args()
    print("%-9s %-4s %-15s %s" % ("key", "TLS", "private key in", "handshakes/s (median of %d)" % args.rounds))
    for kind in ("rsa", "ec") if not args.round_trip_only else ():
        for daemon in ("no", "yes"):
            # No per-client limits: one client opens thousands of connections a minute.
            m = harness.Mailbag(conf={"tls_key_daemon": daemon, "smtpd_max_connect_rate": "0",
                                      "smtpd_max_sessions": "100000", "smtpd_max_sessions_per_client": "100000"})
            try:
                make_pair(m.dir, kind)
                m.start()
                for version in ("tls1_3", "tls1_2"):
                    runs = sorted(s_time(m.host, m.ports["submissions_listen"], args.seconds, version)
                                  for _ in range(args.rounds))
                    print("%-9s %-4s %-15s %.0f  (runs: %s)" % (
                        "RSA-2048" if kind == "rsa" else "P-256", version.replace("tls1_", "1."),
                        "mailbag-tlskey" if daemon == "yes" else "smtpd", runs[len(runs) // 2],
                        ", ".join("%.0f" % r for r in runs)), flush=True)
            finally:
                m.cleanup()
    sign = openssl_sign_seconds()
    print("\n%-9s %-26s %s" % ("key", "KeyOp round trip (mean)", "the signature alone (openssl speed)"))
    for kind in ("rsa", "ec"):
        m = harness.Mailbag()
        m.kind = kind
        try:
            make_pair(m.dir, kind)
            m.start()
            rt = key_op_round_trip(m, 2000)
            print("%-9s %-26s %s" % ("RSA-2048" if kind == "rsa" else "P-256", "%.0f us" % (rt * 1e6),
                                     "%.0f us" % (sign[kind] * 1e6) if kind in sign else "?"), flush=True)
        finally:
            m.cleanup()


if __name__ == "__main__":
    main()
