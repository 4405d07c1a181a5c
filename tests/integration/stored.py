# Reading stored messages in tests: the header block and body of a Maildir file, header
# values (unfolded), the Message-ID, and the check that a stored message is the sent one
# with only Mailbag's trace headers added. Used through harness (harness.header_values, ...).


def split_message(data):
    """(header block, body) of a stored message (LF line ends)."""
    i = data.find(b"\n\n")
    if i < 0:
        return data, b""
    return data[: i + 1], data[i + 2:]


def header_values(data, name):
    """All values of header `name` (unfolded) in the header block of `data`."""
    head, _ = split_message(data)
    out = []
    cur = None
    for line in head.split(b"\n"):
        if line[:1] in (b" ", b"\t") and cur is not None:
            cur[1] += b" " + line.strip()
            continue
        if cur is not None and cur[0].lower() == name.lower().encode():
            out.append(cur[1].decode("utf-8", "replace"))
        cur = None
        if b":" in line:
            k, v = line.split(b":", 1)
            cur = [k.strip(), v.strip()]
    if cur is not None and cur[0].lower() == name.lower().encode():
        out.append(cur[1].decode("utf-8", "replace"))
    return out


def message_id(data):
    ids = header_values(data, "Message-ID")
    return ids[0] if ids else None


ADDED_HEADERS = (b"return-path:", b"x-original-to:", b"delivered-to:", b"received:")


def added_prefix(stored, sent):
    """Checks that `stored` (a Maildir file) is `sent` (CRLF wire form) with LF line ends,
    preceded only by the trace headers Mailbag adds (Return-Path, X-Original-To, Delivered-To,
    Received).
    Returns the prefix; raises AssertionError describing the first difference."""
    want = sent.replace(b"\r\n", b"\n")
    if not stored.endswith(want):
        # Find where they diverge, for a useful message.
        tail = stored[-len(want):] if len(stored) >= len(want) else stored
        for i, (a, b) in enumerate(zip(tail, want)):
            if a != b:
                raise AssertionError(
                    "stored message differs from the sent one at byte %d of the original:"
                    " stored %r, sent %r" % (i, tail[max(0, i - 40): i + 40], want[max(0, i - 40): i + 40]))
        raise AssertionError("stored message (%d bytes) shorter than sent (%d bytes)"
                             % (len(stored), len(want)))
    prefix = stored[: len(stored) - len(want)]
    if prefix and not prefix.endswith(b"\n"):
        raise AssertionError("added header block does not end a line: %r" % prefix[-80:])
    for line in prefix.split(b"\n")[:-1]:
        if line[:1] in (b" ", b"\t"):
            continue
        if not line.lower().startswith(ADDED_HEADERS):
            raise AssertionError("unexpected line before the original message: %r" % line)
    return prefix
