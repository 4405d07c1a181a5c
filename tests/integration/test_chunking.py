# CHUNKING (RFC 3030): BDAT on smtpd's MX port with the real daemons. A message cut into
# chunks at every kind of boundary (empty chunks, one-octet chunks, a CRLF split between
# two chunks, a lone "." line that DATA would have to stuff) is stored byte-exact; chunks
# that cannot be taken are read and discarded so the commands after them still work; an
# unreadable chunk size ends the connection with nothing delivered.
import harness
from messages import make_message

USER = "demo@example.test"
SENDER = "sender@example.net"


def envelope(c):
    assert c.cmd("EHLO client.example.net")[0] == 250
    assert c.cmd("MAIL FROM:<%s>" % SENDER)[0] == 250
    assert c.cmd("RCPT TO:<%s>" % USER)[0] == 250


def send_chunks(c, msg, cuts):
    """Sends `msg` as BDAT chunks cut at the offsets in `cuts` (the last chunk LAST) and
    returns the replies: one per chunk, the LAST one after the queue manager."""
    bounds = [0] + list(cuts) + [len(msg)]
    replies = []
    for i in range(len(bounds) - 1):
        part = msg[bounds[i]:bounds[i + 1]]
        last = i == len(bounds) - 2
        c.send(b"BDAT %d%s\r\n" % (len(part), b" LAST" if last else b"") + part)
        replies.append(c.reply())
    return replies


def test_ehlo_offers_chunking(mb):
    c = mb.raw()
    code, lines = c.cmd("EHLO client.example.net")
    assert code == 250 and "CHUNKING" in lines, lines
    c.close()


def test_chunk_boundaries_deliver_byte_exact(mb):
    # RFC 3030 2: the chunks are the message octets, no dot-stuffing, sizes from 0 up.
    mid, msg = make_message("bdat", 0)
    crlf = msg.index(b"\r\n")
    dot = msg.index(b"\r\n.\r\n") + 2  # the lone "." line
    cases = {
        "one chunk": [],
        "empty chunks and a 0 LAST": [0, 0, len(msg)],
        "one octet chunks at the start": [1, 2, 3],
        "CR and LF in different chunks": [crlf + 1],
        "the dot line alone in a chunk": [dot, dot + 3],
        "many small chunks": list(range(7, len(msg), 97)),
    }
    c = mb.raw()
    for name, cuts in cases.items():
        envelope(c)
        replies = send_chunks(c, msg, cuts)
        assert all(code == 250 for code, _ in replies), (name, replies)
        assert "queued as" in replies[-1][1][0], (name, replies)
    assert c.cmd("QUIT")[0] == 221
    c.close()
    paths = mb.wait_for_messages(USER, len(cases))
    for p in paths:
        data = open(p, "rb").read()
        assert harness.message_id(data) == mid
        harness.added_prefix(data, msg)
    mb.wait_queue_empty()


def test_refused_chunks_are_read_and_discarded(mb):
    # RFC 3030 4.2: chunks pipelined after a failure are accepted and discarded; what
    # they contain is never taken for commands.
    c = mb.raw()
    assert c.cmd("EHLO client.example.net")[0] == 250
    c.send(b"BDAT 6\r\nQUIT\r\nNOOP\r\n")
    assert c.reply()[0] == 503  # no transaction
    assert c.reply()[0] == 250  # the NOOP after the chunk
    envelope(c)
    c.send(b"BDAT 3 LAST\r\nx\r\nBDAT 4 LAST\r\nRSET")
    assert c.reply()[0] == 250  # the message
    assert c.reply()[0] == 503  # a chunk after LAST belongs to no transaction
    envelope(c)
    c.send(b"BDAT 2\r\nab")
    assert c.reply()[0] == 250
    assert c.cmd("DATA")[0] == 503  # RFC 3030 2: no DATA after BDAT
    assert c.cmd("RSET")[0] == 250
    assert c.cmd("QUIT")[0] == 221
    c.close()
    assert len(mb.wait_for_messages(USER, 1)) == 1
    mb.wait_queue_empty()
    assert len(mb.maildir_messages(USER)) == 1


def test_unreadable_chunk_size_closes_the_connection(mb):
    c = mb.raw()
    envelope(c)
    c.send(b"BDAT ten LAST\r\nQUIT\r\n")
    code, _ = c.reply()
    assert code == 501
    assert c.replies_until_close() == []
    c.close()
    mb.wait_queue_empty()
    assert mb.maildir_messages(USER) == []
    mb.wait_for_log("smtpd", r"reject: BDAT .*unreadable chunk size, closing")
