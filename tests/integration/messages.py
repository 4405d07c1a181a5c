# Test messages with the awkward content a mail server must carry unchanged: lines that
# start with '.', 8-bit bytes, lines of exactly 998 octets (RFC 5321 4.5.3.1.6: 1000
# octets including CRLF), empty lines and a last line without trailing text. Each message
# is wire form (CRLF line ends, not dot-stuffed) and has a unique Message-ID, so
# deliveries can be counted and compared byte for byte.
import random

DOMAIN = "example.test"


def msgid(tag, n):
    return "<%s-%d@test.example.net>" % (tag, n)


def make_message(tag, n, to="demo@example.test", size_hint=None, seed=None):
    rnd = random.Random(seed if seed is not None else "%s/%d" % (tag, n))
    mid = msgid(tag, n)
    head = [
        b"From: Sender <sender@example.net>",
        ("To: <%s>" % to).encode(),
        ("Subject: test %s %d" % (tag, n)).encode(),
        ("Message-ID: %s" % mid).encode(),
        b"Date: Mon, 01 Jan 2024 00:00:00 +0000",
        b"MIME-Version: 1.0",
        b"Content-Type: text/plain; charset=utf-8",
        b"Content-Transfer-Encoding: 8bit",
    ]
    body = [
        ("Message %d of %s." % (n, tag)).encode(),
        b".",                                  # a lone dot: must be stuffed on the wire
        b"..two dots",
        b".leading dot",
        b"",
        "Grüße, naïve café — ☃ €".encode("utf-8"),
        bytes(range(0x80, 0x100)),             # every high octet
        b"x" * 998,                            # longest legal line
        b"." + b"y" * 997,                     # longest legal line, dot-stuffed on the wire
        b"tab\there and trailing space ",
        b"",
    ]
    lines = rnd.randint(0, 40) if size_hint is None else size_hint // 80
    for i in range(lines):
        width = rnd.randint(0, 120)
        body.append(bytes(rnd.choice(b"abcdefghijklmnopqrstuvwxyz .,;:-_\xc3\xa9") for _ in range(width)))
        if rnd.random() < 0.1:
            body.append(b"." * rnd.randint(1, 3) + b"dot line %d" % i)
    body.append(b"-- end --")
    return mid, b"\r\n".join(head) + b"\r\n\r\n" + b"\r\n".join(body) + b"\r\n"
