// Unit tests for the queue file (common/spool/queue_file.hpp): the envelope format record
// by record (missing, duplicated, malformed, control characters), read_envelope's size
// check on real files, and QueueFileWriter writing a real O_TMPFILE.
#include "common/spool/queue_file.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sstream>
#include <string>
#include <vector>

#include "common/io/fdio.hpp"

using namespace common::spool;
using common::io::UniqueFd;

namespace {

Envelope sample() {
  Envelope e;
  e.queue_id = "0123456789ABCDEF";
  e.arrival = 1700000000;
  e.protocol = "ESMTPSA";
  e.client = "mail.example.net [192.0.2.7]";
  e.auth_user = "alice@example.org";
  e.body_8bit = true;
  e.smtputf8 = false;
  e.sender = "alice@example.org";
  e.recipients = {"bob@example.net", "\"carol smith\"@example.com", "dave@[192.0.2.1]"};
  e.data_size = 10;
  e.data_lines = 2;
  return e;
}

void check_equal(const Envelope& a, const Envelope& b) {
  CHECK(a.queue_id == b.queue_id);
  CHECK(a.arrival == b.arrival);
  CHECK(a.protocol == b.protocol);
  CHECK(a.client == b.client);
  CHECK(a.auth_user == b.auth_user);
  CHECK(a.body_8bit == b.body_8bit);
  CHECK(a.smtputf8 == b.smtputf8);
  CHECK(a.requiretls == b.requiretls);
  CHECK(a.sender == b.sender);
  CHECK(a.recipients == b.recipients);
  CHECK(a.data_size == b.data_size);
  CHECK(a.data_lines == b.data_lines);
  CHECK(a.junk == b.junk);
  CHECK(a.hold_reason == b.hold_reason);
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string l;
  while (std::getline(in, l)) out.push_back(l);
  return out;
}

std::string join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

// The sample envelope's lines with every record starting with `tag` replaced by `with`
// (removed if `with` is empty).
std::string replace_record(char tag, const std::string& with) {
  auto lines = lines_of(format_envelope(sample()));
  std::vector<std::string> out;
  for (const auto& l : lines) {
    if (l[0] == tag && (l.size() == 1 || l[1] == ' ')) {
      if (!with.empty()) out.push_back(with);
    } else {
      out.push_back(l);
    }
  }
  return join(out);
}

std::string error_of(const std::string& text) {
  auto r = parse_envelope(text);
  INFO("envelope:\n", text);
  REQUIRE_FALSE(r.is_ok());
  return r.message();
}

std::string temp_dir() {
  char dir[] = "/tmp/mailbag-spool-test-XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  return dir;
}

UniqueFd temp_file_with(const std::string& content) {
  UniqueFd fd(open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  REQUIRE(fd.valid());
  REQUIRE(common::io::write_all(fd.get(), content).is_ok());
  return fd;
}

}  // namespace

TEST_CASE("format_envelope and parse_envelope round-trip") {
  Envelope e = sample();
  std::string text = format_envelope(e);
  CHECK(text ==
        "MBQ1\n"
        "I 0123456789ABCDEF\n"
        "T 1700000000\n"
        "P ESMTPSA\n"
        "C mail.example.net [192.0.2.7]\n"
        "A alice@example.org\n"
        "B 8BITMIME\n"
        "S <alice@example.org>\n"
        "R <bob@example.net>\n"
        "R <\"carol smith\"@example.com>\n"
        "R <dave@[192.0.2.1]>\n"
        "J 0\n"
        "Z 00000000000000000010 00000000000000000002\n"
        "E\n");
  auto p = parse_envelope(text + "Subject: x\n\nbody\n");
  REQUIRE_MESSAGE(p.is_ok(), p.message());
  check_equal(p->env, e);
  CHECK(p->data_offset == text.size());

  // Minimal: null sender, no optional records, 7BIT, SMTPUTF8.
  Envelope m;
  m.queue_id = "FFFFFFFFFFFFFFFF";
  m.arrival = 0;
  m.protocol = "local";
  m.sender = "";
  m.smtputf8 = true;
  m.requiretls = true;  // RFC 8689: the Q record
  m.recipients = {
      "j\xC3\xB8rgen@b\xC3\xBC"
      "cher.example"};
  auto q = parse_envelope(format_envelope(m));
  REQUIRE_MESSAGE(q.is_ok(), q.message());
  check_equal(q->env, m);
  CHECK(format_envelope(q->env) == format_envelope(m));
}

TEST_CASE("addresses are validated and canonicalised") {
  auto p = parse_envelope(replace_record('S', "S <@relay.example:Alice@Example.ORG>"));
  REQUIRE_MESSAGE(p.is_ok(), p.message());
  CHECK(p->env.sender == "Alice@example.org");
  auto q = parse_envelope(replace_record('S', "S <\"a\\b\"@x.example>"));
  REQUIRE(q.is_ok());
  CHECK(q->env.sender == "ab@x.example");

  CHECK(error_of(replace_record('S', "S alice@example.org")).find("bad sender") == 0);
  CHECK(error_of(replace_record('S', "S <alice>")).find("bad sender") == 0);
  CHECK(error_of(replace_record('S', "S <alice@example.org> ")).find("bad sender") == 0);
  CHECK(error_of(replace_record('S', "S <a@b.example>>")).find("bad sender") == 0);
  CHECK(error_of(replace_record('S', "S <>x")).find("bad sender") == 0);
  CHECK(error_of(replace_record('S', "S <Postmaster>")).find("bad sender") == 0);
  CHECK(error_of(replace_record('R', "R <>")).find("bad recipient") == 0);
  CHECK(error_of(replace_record('R', "R <postmaster>")).find("bad recipient") == 0);
  CHECK(error_of(replace_record('R', "R <a@b@c.example>")).find("bad recipient") == 0);
  CHECK(error_of(replace_record('R', "R")).find("bad recipient") == 0);

  // UTF-8 needs the U record, which may come anywhere before E.
  std::string utf = replace_record('R', "R <\xC3\xB8@x.example>");
  CHECK(error_of(utf).find("bad recipient") == 0);
  auto lines = lines_of(utf);
  lines.insert(lines.end() - 1, "U");  // after the recipients
  auto ok = parse_envelope(join(lines));
  REQUIRE_MESSAGE(ok.is_ok(), ok.message());
  CHECK(ok->env.smtputf8);
  // (replace_record replaced each of the three R records.)
  CHECK(ok->env.recipients == std::vector<std::string>(3, "\xC3\xB8@x.example"));
}

TEST_CASE("every required record must be there") {
  for (char tag : {'I', 'T', 'P', 'B', 'S', 'R', 'Z'}) {
    INFO("without ", tag);
    CHECK(error_of(replace_record(tag, "")) == std::string("missing record ") + tag);
  }
  CHECK(error_of(replace_record('E', "")) == "envelope incomplete (truncated file?)");
  // Optional ones may be left out.
  auto p = parse_envelope(replace_record('C', ""));
  REQUIRE(p.is_ok());
  CHECK(p->env.client.empty());
  CHECK(parse_envelope(replace_record('A', "")).is_ok());
}

TEST_CASE("no record twice, except R") {
  std::string base = format_envelope(sample());
  auto lines = lines_of(base);
  for (std::size_t i = 1; i + 1 < lines.size(); ++i) {  // every record but the magic and E
    char tag = lines[i][0];
    auto dup = lines;
    dup.insert(dup.begin() + static_cast<long>(i) + 1, lines[i]);
    auto r = parse_envelope(join(dup));
    INFO("duplicated ", lines[i]);
    if (tag == 'R') {
      REQUIRE(r.is_ok());
      CHECK(r->env.recipients.size() == 4);
    } else {
      REQUIRE_FALSE(r.is_ok());
      CHECK(r.message() == std::string("duplicate record ") + tag);
    }
  }
  // A second U.
  Envelope u = sample();
  u.smtputf8 = true;
  auto ul = lines_of(format_envelope(u));
  ul.insert(ul.begin() + 3, "U");
  CHECK(error_of(join(ul)) == "duplicate record U");
  // A second E is simply part of the message.
  auto p = parse_envelope(base + "E\n");
  REQUIRE(p.is_ok());
  CHECK(p->data_offset == base.size());
}

TEST_CASE("malformed records") {
  struct Case {
    char tag;
    std::string line;
    std::string error;
  };
  const std::vector<Case> cases = {
      {'I', "I 0123456789abcdef", "bad queue id"},
      {'I', "I 0123456789ABCDE", "bad queue id"},
      {'I', "I 0123456789ABCDEF0", "bad queue id"},
      {'I', "I ../../etc/passwd", "bad queue id"},
      {'I', "I", "bad queue id"},
      {'I', "I  0123456789ABCDEF", "bad queue id"},
      {'I', "I0123456789ABCDEF", "bad envelope record"},
      {'T', "T -1", "bad arrival time"},
      {'T', "T abc", "bad arrival time"},
      {'T', "T ", "bad arrival time"},
      {'T', "T 1.5", "bad arrival time"},
      {'T', "T 1099511627777", "bad arrival time"},  // past 2^40
      {'T', "T 99999999999999999999999", "bad arrival time"},
      {'P', "P ", "bad protocol"},
      {'P', "P " + std::string(17, 'X'), "bad protocol"},
      {'C', "C " + std::string(1025, 'c'), "client record too long"},
      {'A', "A ", "bad auth record"},
      {'A', "A " + std::string(321, 'a'), "bad auth record"},
      {'B', "B 8bitmime", "bad body type"},
      {'B', "B BINARYMIME", "bad body type"},
      {'B', "B", "bad body type"},
      {'Z', "Z 10 2", "bad size record"},
      {'Z', "Z 00000000000000000010  0000000000000000002", "bad size record"},
      {'Z', "Z 0000000000000000001x 00000000000000000002", "bad size record"},
      {'Z', "Z 00000000000000000010 00000000000000000002 ", "bad size record"},
      {'Z', "Z 99999999999999999999 00000000000000000002", "bad size record"},  // > 2^64
      {'Z', "Z -0000000000000000010 00000000000000000002", "bad size record"},
      {'J', "J", "bad junk record"},
      {'J', "J 2", "bad junk record"},
      {'J', "J yes", "bad junk record"},
      {'J', "J 00", "bad junk record"},
      {'E', "E x", "bad end record"},
      {'E', "E ", "bad end record"},
  };
  for (const auto& c : cases) {
    INFO("record '", c.line, "'");
    CHECK(error_of(replace_record(c.tag, c.line)) == c.error);
  }
  Envelope u = sample();
  u.smtputf8 = true;
  auto ul = lines_of(format_envelope(u));
  for (auto& l : ul)
    if (l == "U") l = "U x";
  CHECK(error_of(join(ul)) == "bad U record");

  // Limits are inclusive.
  CHECK(parse_envelope(replace_record('P', "P " + std::string(16, 'X'))).is_ok());
  CHECK(parse_envelope(replace_record('C', "C " + std::string(1024, 'c'))).is_ok());
  CHECK(parse_envelope(replace_record('A', "A " + std::string(320, 'a'))).is_ok());
  CHECK(parse_envelope(replace_record('T', "T 1099511627776")).is_ok());
  CHECK(parse_envelope(replace_record('Z', "Z 18446744073709551615 00000000000000000002")).is_ok());

  // Structure.
  std::string ok = format_envelope(sample());
  CHECK(error_of("") == "bad magic (not a queue file)");
  CHECK(error_of("MBQ2\n" + ok.substr(5)) == "bad magic (not a queue file)");
  CHECK(error_of("MBQ1") == "bad magic (not a queue file)");
  CHECK(error_of("MBQ1\n") == "envelope incomplete (truncated file?)");
  CHECK(error_of(ok.substr(0, ok.size() - 1)) == "envelope incomplete (truncated file?)");
  CHECK(error_of(replace_record('C', "X unknown")) == "unknown record type 88");
  CHECK(error_of(replace_record('C', "c lower")) == "unknown record type 99");
  auto with_blank = lines_of(ok);
  with_blank.insert(with_blank.begin() + 2, "");
  CHECK(error_of(join(with_blank)) == "empty envelope record");
  CHECK(error_of(replace_record('C', "\xC3\xA9 x")) == "bad envelope record");
  // The sender must come before the recipients.
  auto order = lines_of(ok);
  std::swap(order[7], order[8]);  // S and the first R
  REQUIRE(order[7][0] == 'R');
  CHECK(error_of(join(order)) == "sender after recipients");
  // CR LF line ends are not the format.
  std::string crlf;
  for (const auto& l : lines_of(ok)) crlf += l + "\r\n";
  CHECK_FALSE(parse_envelope(crlf).is_ok());
}

TEST_CASE("control characters are refused anywhere in the envelope") {
  for (char c : {'\0', '\t', '\r', '\x01', '\x1b', '\x7f'}) {
    INFO("byte ", int(c));
    CHECK(error_of(replace_record('C', std::string("C a") + c + "b")) == "control character in envelope");
    CHECK(error_of(replace_record('P', std::string("P ES") + c)) == "control character in envelope");
  }
  // Non-ASCII text is allowed in the free-text record.
  CHECK(parse_envelope(replace_record('C', "C h\xC3\xA9lo.example")).is_ok());
}

TEST_CASE("format_envelope cannot be made to write extra records") {
  Envelope e = sample();
  e.client = "evil.example\nR <victim@elsewhere.example>";
  e.auth_user = "x\nS <forged@example.org>";
  std::string text = format_envelope(e);
  CHECK(text.find("\nR <victim") == std::string::npos);
  auto p = parse_envelope(text);
  REQUIRE_MESSAGE(p.is_ok(), p.message());
  CHECK(p->env.recipients == sample().recipients);
  CHECK(p->env.sender == sample().sender);
  CHECK(p->env.client == "evil.example?R <victim@elsewhere.example>");
}

TEST_CASE("envelope size limit") {
  // An envelope that does not end within kMaxEnvelope is refused, not read forever.
  Envelope e = sample();
  e.recipients.assign(kMaxEnvelope / 24 + 10, "someone@example.org");
  std::string text = format_envelope(e);
  REQUIRE(text.size() > kMaxEnvelope);
  CHECK(error_of(text) == "envelope incomplete (truncated file?)");
  // One comfortably below the limit parses.
  e.recipients.resize(10000);
  auto p = parse_envelope(format_envelope(e));
  REQUIRE(p.is_ok());
  CHECK(p->env.recipients.size() == 10000);
}

TEST_CASE("read_envelope checks the file size against the Z record") {
  Envelope e = sample();
  const std::string body = "Subject: x\n\nhello\n";
  e.data_size = body.size();
  e.data_lines = 3;
  std::string head = format_envelope(e);
  {
    UniqueFd fd = temp_file_with(head + body);
    auto p = read_envelope(fd.get());
    REQUIRE_MESSAGE(p.is_ok(), p.message());
    CHECK(p->data_offset == head.size());
    check_equal(p->env, e);
  }
  {
    UniqueFd fd = temp_file_with(head + body.substr(0, body.size() - 1));
    auto p = read_envelope(fd.get());
    REQUIRE_FALSE(p.is_ok());
    CHECK(p.message().find("truncated or damaged") != std::string::npos);
  }
  {
    UniqueFd fd = temp_file_with(head + body + "x");
    CHECK_FALSE(read_envelope(fd.get()).is_ok());
  }
  {
    UniqueFd fd = temp_file_with(head.substr(0, head.size() / 2));
    auto p = read_envelope(fd.get());
    REQUIRE_FALSE(p.is_ok());
    CHECK(p.message() == "envelope incomplete (truncated file?)");
  }
  {
    // Z near 2^64: the sum with the offset must not wrap to the real size.
    Envelope big = e;
    big.data_size = ~0ULL - 10;
    UniqueFd fd = temp_file_with(format_envelope(big) + body);
    auto p = read_envelope(fd.get());
    REQUIRE_FALSE(p.is_ok());
  }
  {
    // An envelope larger than the first read (8 KiB) is read in full.
    Envelope many = e;
    many.recipients.assign(2000, "recipient@example.org");
    std::string h = format_envelope(many);
    REQUIRE(h.size() > 40000);
    UniqueFd fd = temp_file_with(h + body);
    auto p = read_envelope(fd.get());
    REQUIRE_MESSAGE(p.is_ok(), p.message());
    CHECK(p->env.recipients.size() == 2000);
    CHECK(p->data_offset == h.size());
  }
  {
    UniqueFd fd = temp_file_with("");
    CHECK_FALSE(read_envelope(fd.get()).is_ok());
  }
  {
    // Not a regular file.
    UniqueFd dir(open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    CHECK(read_envelope(dir.get()).message() == "not a regular file");
    int p[2];
    REQUIRE(pipe(p) == 0);
    CHECK(read_envelope(p[0]).message() == "not a regular file");
    close(p[0]);
    close(p[1]);
  }
}

TEST_CASE("QueueFileWriter writes an unlinked file that read_envelope accepts") {
  std::string dir = temp_dir();
  UniqueFd dfd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  REQUIRE(dfd.valid());
  Envelope e = sample();
  e.data_size = 0;
  e.data_lines = 0;
  auto w = QueueFileWriter::create(dfd.get(), e);
  REQUIRE_MESSAGE(w.is_ok(), w.message());
  std::string message = "Received: from x\nSubject: test\n\n";
  std::string big;
  for (int i = 0; i < 3000; ++i) big += "line " + std::to_string(i) + " of a long message body\n";
  REQUIRE(big.size() > 64 * 1024);  // crosses the writer's flush threshold
  REQUIRE(w->append(message).is_ok());
  REQUIRE(w->append(big).is_ok());
  REQUIRE(w->append("no newline at the end").is_ok());
  REQUIRE(w->finish().is_ok());
  std::string all = message + big + "no newline at the end";
  CHECK(w->size() == all.size());
  CHECK(w->lines() == 3 + 3000);

  struct stat st;
  REQUIRE(fstat(w->fd(), &st) == 0);
  CHECK(S_ISREG(st.st_mode));
  CHECK((st.st_mode & 07777) == 0660);
  CHECK(st.st_nlink == 0);  // O_TMPFILE: nothing appears in the drop directory

  auto p = read_envelope(w->fd());
  REQUIRE_MESSAGE(p.is_ok(), p.message());
  CHECK(p->env.data_size == all.size());
  CHECK(p->env.data_lines == 3003);
  CHECK(p->env.recipients == e.recipients);
  std::string data;
  REQUIRE(
      common::io::pread_upto(w->fd(), &data, all.size() + 10, static_cast<off_t>(p->data_offset)).is_ok());
  CHECK(data == all);

  // The fd can be handed on (to the queue manager) and the file linked by it.
  UniqueFd fd = w->release_fd();
  CHECK(w->fd() < 0);
  std::string link = dir + "/linked";
  std::string proc = "/proc/self/fd/" + std::to_string(fd.get());
  REQUIRE(linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, link.c_str(), AT_SYMLINK_FOLLOW) == 0);
  auto content = common::io::read_file(link);
  REQUIRE(content.is_ok());
  CHECK(content->size() == p->data_offset + all.size());
  unlink(link.c_str());

  // An empty message is valid too.
  auto w2 = QueueFileWriter::create(dfd.get(), e);
  REQUIRE(w2.is_ok());
  REQUIRE(w2->finish().is_ok());
  auto p2 = read_envelope(w2->fd());
  REQUIRE_MESSAGE(p2.is_ok(), p2.message());
  CHECK(p2->env.data_size == 0);
  CHECK(p2->env.data_lines == 0);

  // A directory that is not there / not a directory.
  CHECK_FALSE(QueueFileWriter::create(-1, e).is_ok());
  rmdir(dir.c_str());
}

TEST_CASE("quarantine: H record, optional, bounded, one line") {
  Envelope e = sample();
  CHECK(format_envelope(e).find("\nH ") == std::string::npos);  // not written when empty
  e.hold_reason = "virus found: Eicar-Test-Signature";
  auto p = parse_envelope(format_envelope(e));
  REQUIRE_MESSAGE(p.is_ok(), p.message());
  check_equal(p->env, e);
  // A reason with a line end cannot add a record; a long one is cut on write.
  e.hold_reason = "x\nR <mallory@example.org>";
  p = parse_envelope(format_envelope(e));
  REQUIRE(p.is_ok());
  CHECK(p->env.hold_reason == "x?R <mallory@example.org>");
  CHECK(p->env.recipients.size() == 3);
  e.hold_reason = std::string(kMaxHoldReason + 50, 'r');
  p = parse_envelope(format_envelope(e));
  REQUIRE(p.is_ok());
  CHECK(p->env.hold_reason.size() == kMaxHoldReason);
  // On read: empty, too long, duplicated.
  std::string text = format_envelope(sample());
  auto with = [&](const std::string& records) {
    std::string t = text;
    t.insert(t.find("J "), records);
    return parse_envelope(t);
  };
  CHECK(with("H \n").message() == "bad hold record");
  CHECK(with("H " + std::string(kMaxHoldReason + 1, 'r') + "\n").message() == "bad hold record");
  CHECK(with("H a\nH b\n").message() == "duplicate record H");
  CHECK(with("H spam\n")->env.hold_reason == "spam");
}

TEST_CASE("the junk verdict: J record, optional on read, patched by the writer") {
  Envelope e = sample();
  e.junk = true;
  auto p = parse_envelope(format_envelope(e));
  REQUIRE(p.is_ok());
  CHECK(p->env.junk);
  // Files written before the record existed have none: not junk.
  auto old = parse_envelope(replace_record('J', ""));
  REQUIRE_MESSAGE(old.is_ok(), old.message());
  CHECK_FALSE(old->env.junk);

  std::string dir = temp_dir();
  UniqueFd dfd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  REQUIRE(dfd.valid());
  for (bool start : {false, true}) {
    for (bool mark : {false, true}) {
      Envelope env = sample();
      env.junk = start;
      auto w = QueueFileWriter::create(dfd.get(), env);
      REQUIRE(w.is_ok());
      REQUIRE(w->append(std::string(100000, 'x') + "\n").is_ok());  // flushed before the patch
      if (mark) w->mark_junk();
      REQUIRE(w->finish().is_ok());
      auto r = read_envelope(w->fd());
      REQUIRE_MESSAGE(r.is_ok(), r.message());
      CHECK(r->env.junk == (start || mark));
      CHECK(r->env.data_size == 100001);
    }
  }
  rmdir(dir.c_str());
}

TEST_CASE("DSN requests (RFC 3461): D and N records, optional, validated on read") {
  Envelope e = sample();
  CHECK(format_envelope(e).find("\nD ") == std::string::npos);  // nothing asked: nothing written
  e.dsn_ret = common::mail::DsnRet::kHdrs;
  e.dsn_envid = "QQ+314 159";
  e.dsn.resize(3);
  e.dsn[0].notify = common::mail::kNotifySuccess | common::mail::kNotifyDelay;
  e.dsn[0].orcpt = "rfc822;Bob+Tag=x@example.net";
  e.dsn[2].notify = common::mail::kNotifyNever;
  std::string text = format_envelope(e);
  CHECK(text.find("D HDRS QQ+2B314+20159\n") != std::string::npos);
  CHECK(text.find("N 0 SUCCESS,DELAY rfc822;Bob+2BTag+3Dx@example.net\n") != std::string::npos);
  CHECK(text.find("N 1 ") == std::string::npos);
  auto p = parse_envelope(text);
  REQUIRE_MESSAGE(p.is_ok(), p.message());
  CHECK(p->env.dsn_ret == e.dsn_ret);
  CHECK(p->env.dsn_envid == e.dsn_envid);
  CHECK(p->env.dsn == e.dsn);
  CHECK(p->env.dsn_of(1).notify == 0);
  CHECK(sample().dsn_of(0).notify == 0);  // files without D/N records read as before

  std::string plain = format_envelope(sample());
  auto with = [&](const std::string& records) {
    std::string t = plain;
    t.insert(t.find("J "), records);
    return parse_envelope(t);
  };
  CHECK(with("N 2 FAILURE -\n")->env.dsn_of(2).notify == common::mail::kNotifyFailure);
  CHECK(with("D FULL -\n")->env.dsn_ret == common::mail::DsnRet::kFull);
  CHECK(with("N 3 FAILURE -\n").message() == "DSN record for a recipient that does not exist");
  CHECK(with("N 0 FAILURE -\nN 0 DELAY -\n").message() == "two DSN records for one recipient");
  CHECK(with("N 0 - -\n").message() == "empty DSN recipient record");
  CHECK(with("N 0 NEVER,DELAY -\n").message() == "bad DSN NOTIFY");
  CHECK(with("N 0 - rfc822\n").message() == "bad DSN ORCPT");
  CHECK(with("N x FAILURE -\n").message() == "bad DSN recipient record");
  CHECK(with("D BODY -\n").message() == "bad DSN RET");
  CHECK(with("D - a=b\n").message() == "bad DSN ENVID");
  CHECK(with("D FULL -\nD HDRS -\n").message() == "duplicate record D");
}
