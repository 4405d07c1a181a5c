// Tests for the Maildir++ quota file (maildirsize.hpp): the format as the Courier
// specification and Dovecot's quota-maildir.c read it, recalculation, and the rules for
// when a file is trusted.
#include "common/maildir/maildirsize.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utime.h>

#include <filesystem>
#include <fstream>

#include "common/io/fdio.hpp"

using namespace common::maildir;

namespace {

struct Dir {
  std::string path;
  Dir() {
    char t[] = "/tmp/maildirsize-test-XXXXXX";
    REQUIRE(::mkdtemp(t) != nullptr);
    path = t;
    for (const char* s : {"/cur", "/new", "/tmp"}) REQUIRE(::mkdir((path + s).c_str(), 0770) == 0);
  }
  ~Dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  void file(const std::string& rel, std::size_t size) const {
    std::ofstream(path + "/" + rel) << std::string(size, 'x');
  }
  void write(const std::string& rel, const std::string& text) const {
    std::ofstream(path + "/" + rel) << text;
  }
  std::string read(const std::string& rel) const {
    auto t = common::io::read_file(path + "/" + rel);
    REQUIRE(t.is_ok());
    return *t;
  }
};

}  // namespace

TEST_CASE("parse: definition and delta lines add up") {
  auto p = parse_maildirsize("1000S,20C\n100 1\n250 2\n-100 -1\n");
  REQUIRE(p.is_ok());
  CHECK(p->def.bytes == 1000);
  CHECK(p->def.count == 20);
  CHECK(p->usage.bytes == 250);
  CHECK(p->usage.count == 2);
  CHECK(p->delta_lines == 3);
  auto q = parse_maildirsize("5000S\n  12   3 \n");  // blanks are tolerated, as sscanf does
  REQUIRE(q.is_ok());
  CHECK(q->def == QuotaDef{5000, 0});
  CHECK(q->usage.bytes == 12);
  auto e = parse_maildirsize("\n");  // an empty definition: no limits
  REQUIRE(e.is_ok());
  CHECK(e->def == QuotaDef{});
}

TEST_CASE("parse: a half-written last line is ignored") {
  auto p = parse_maildirsize("1000S\n100 1\n20");
  REQUIRE(p.is_ok());
  CHECK(p->usage.bytes == 100);
  CHECK(p->delta_lines == 1);
}

TEST_CASE("parse: broken files are refused (the caller recalculates)") {
  for (const char* bad :
       {"", "1000S", "1000X\n", "S\n", "-5S\n", "1000S\nabc 1\n", "1000S\n1\n", "1000S\n1 2 3\n", "1000S\n\n",
        "1000S\n-5 -1\n", "1000S\n99999999999999999999 1\n"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_maildirsize(bad).is_ok());
  }
  std::string nul("1000S\n1 1\n", 10);
  nul[7] = '\0';
  CHECK_FALSE(parse_maildirsize(nul).is_ok());
}

TEST_CASE("format: as Dovecot writes it") {
  CHECK(format_quota_def({15728640, 0}) == "15728640S");
  CHECK(format_quota_def({100, 5}) == "100S,5C");
  CHECK(format_quota_def({0, 5}) == "5C");
  CHECK(format_quota_def({}) == "0S");
  CHECK(format_delta(-42, -1) == "-42 -1\n");
}

TEST_CASE("size field of Maildir names") {
  CHECK(size_field("1700000000.M1P2Q3.host,S=1234,W=1260") == 1234u);
  CHECK(size_field("1700000000.M1P2Q3.host,S=1234:2,S") == 1234u);
  CHECK(size_field("1700000000.M1P2Q3.host,S=1234,W=1260:2,RS") == 1234u);
  CHECK_FALSE(size_field("1700000000.M1P2Q3.host").has_value());
  CHECK_FALSE(size_field("1700000000.host,S=12x").has_value());
  CHECK_FALSE(size_field("1700000000.host,S=").has_value());
  CHECK_FALSE(size_field("1700000000.host:2,S=12").has_value());  // after ':' are flags
}

TEST_CASE("over quota means strictly more than the limit") {
  CHECK_FALSE(over_quota({100, 0}, {100, 9}));
  CHECK(over_quota({100, 0}, {101, 1}));
  CHECK(over_quota({0, 2}, {1, 3}));
  CHECK_FALSE(over_quota({}, {1 << 30, 1 << 20}));
}

TEST_CASE("scan counts new/, cur/ and Maildir++ folders, by S= or by size") {
  Dir d;
  d.file("new/1.a,S=100,W=103", 7);  // the name's S= wins over the real size
  d.file("cur/2.b,S=50:2,S", 50);
  d.file("cur/3.c", 33);  // no S=: stat
  REQUIRE(::mkdir((d.path + "/.Sent").c_str(), 0770) == 0);
  REQUIRE(::mkdir((d.path + "/.Sent/cur").c_str(), 0770) == 0);
  d.file(".Sent/cur/4.d,S=10", 10);
  d.file("tmp/5.e,S=999", 999);         // tmp/ is not mail yet
  d.write("maildirsize", "0S\n0 0\n");  // files in the root are not mail
  auto u = scan_maildir(d.path);
  REQUIRE(u.is_ok());
  CHECK(u->bytes == 193);
  CHECK(u->count == 4);
  auto none = scan_maildir(d.path + "/missing");
  REQUIRE(none.is_ok());
  CHECK(none->count == 0);
}

TEST_CASE("read_usage: a missing file is recalculated and written") {
  Dir d;
  d.file("new/1.a,S=100", 100);
  auto u = read_usage(d.path, {1000, 0}, {true, ::time(nullptr)});
  REQUIRE(u.is_ok());
  CHECK(u->recalculated);
  CHECK(u->usage.bytes == 100);
  CHECK(d.read("maildirsize") == "1000S\n100 1\n");
  struct stat st;
  REQUIRE(::stat((d.path + "/maildirsize").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0660);
  // Appending then reading uses the file, not the Maildir.
  auto a = append_delta(d.path, 25, 1);
  REQUIRE(a.is_ok());
  CHECK(*a);
  auto v = read_usage(d.path, {1000, 0}, {true, ::time(nullptr)});
  REQUIRE(v.is_ok());
  CHECK_FALSE(v->recalculated);
  CHECK(v->usage.bytes == 125);
  CHECK(v->usage.count == 2);
}

TEST_CASE("read_usage: may_write = false never writes") {
  Dir d;
  d.file("cur/1.a,S=10", 10);
  auto u = read_usage(d.path, {1000, 0}, {false, ::time(nullptr)});
  REQUIRE(u.is_ok());
  CHECK(u->usage.bytes == 10);
  CHECK(::access((d.path + "/maildirsize").c_str(), F_OK) != 0);
}

TEST_CASE("read_usage: a changed quota definition, a broken or large file are recalculated") {
  Dir d;
  d.file("new/1.a,S=100", 100);
  d.write("maildirsize", "5000S\n7 7\n");
  auto u = read_usage(d.path, {1000, 0}, {true, ::time(nullptr)});
  REQUIRE(u.is_ok());
  CHECK(u->recalculated);
  CHECK(d.read("maildirsize") == "1000S\n100 1\n");
  d.write("maildirsize", "1000S\nnonsense\n");
  CHECK(read_usage(d.path, {1000, 0}, {true, ::time(nullptr)})->recalculated);
  std::string big = "1000S\n";
  while (big.size() <= kMaxMaildirsize) big += "1 0\n";
  d.write("maildirsize", big);
  auto b = read_usage(d.path, {1000, 0}, {true, ::time(nullptr)});
  REQUIRE(b.is_ok());
  CHECK(b->recalculated);
  CHECK(b->usage.bytes == 100);
}

TEST_CASE("read_usage: 'over quota' is believed only from a fresh one-line file") {
  Dir d;
  d.file("new/1.a,S=100", 100);
  // Says over quota, but with several lines: recalculated (a removal may be missing).
  d.write("maildirsize", "150S\n100 1\n100 1\n");
  auto u = read_usage(d.path, {150, 0}, {true, ::time(nullptr)});
  REQUIRE(u.is_ok());
  CHECK(u->recalculated);
  CHECK(u->usage.bytes == 100);
  // One line, fresh, over quota: believed.
  d.write("maildirsize", "150S\n200 2\n");
  auto v = read_usage(d.path, {150, 0}, {true, ::time(nullptr)});
  REQUIRE(v.is_ok());
  CHECK_FALSE(v->recalculated);
  CHECK(v->usage.bytes == 200);
  // The same file 16 minutes later: recalculated.
  auto w = read_usage(d.path, {150, 0}, {true, ::time(nullptr) + 16 * 60});
  REQUIRE(w.is_ok());
  CHECK(w->recalculated);
  CHECK(w->usage.bytes == 100);
}

TEST_CASE("append_delta never creates the file") {
  Dir d;
  auto a = append_delta(d.path, -10, -1);
  REQUIRE(a.is_ok());
  CHECK_FALSE(*a);
  CHECK(::access((d.path + "/maildirsize").c_str(), F_OK) != 0);
  REQUIRE(write_maildirsize(d.path, {0, 0}, {0, 0}).is_ok());
  REQUIRE(*append_delta(d.path, 5, 1));
  REQUIRE(*append_delta(d.path, -5, -1));
  CHECK(d.read("maildirsize") == "0S\n0 0\n5 1\n-5 -1\n");
}

namespace {

// Any member of the Maildir's group can put a FIFO where maildirsize belongs; an open(2)
// that blocks on it would stall the local agent or root's `mailctl user show` forever.
// The alarm turns such a hang into an EINTR failure after two seconds.
struct HangGuard {
  struct sigaction old {};
  HangGuard() {
    struct sigaction sa {};
    sa.sa_handler = [](int) {};
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: a blocked open(2) returns EINTR
    ::sigaction(SIGALRM, &sa, &old);
    ::alarm(2);
  }
  ~HangGuard() {
    ::alarm(0);
    ::sigaction(SIGALRM, &old, nullptr);
  }
};

}  // namespace

TEST_CASE("read_usage: a FIFO or symlink as maildirsize is recalculated, never blocks") {
  Dir d;
  d.file("new/1.a,S=100", 100);
  REQUIRE(::mkfifo((d.path + "/maildirsize").c_str(), 0660) == 0);
  {
    HangGuard guard;
    auto ro = read_usage(d.path, {1000, 0}, {false, 0});
    REQUIRE_MESSAGE(ro.is_ok(), ro.message());
    CHECK(ro->recalculated);
    CHECK(ro->usage.bytes == 100);
    auto a = append_delta(d.path, 5, 1);  // O_WRONLY on a FIFO would wait for a reader
    REQUIRE_FALSE(a.is_ok());
    CHECK(a.message().find("FIFO") != std::string::npos);
    auto w = read_usage(d.path, {1000, 0}, {true, 0});
    REQUIRE_MESSAGE(w.is_ok(), w.message());
    CHECK(w->recalculated);
  }
  struct stat st;
  REQUIRE(::lstat((d.path + "/maildirsize").c_str(), &st) == 0);
  CHECK(S_ISREG(st.st_mode));  // the rewrite replaced the FIFO
  REQUIRE(::unlink((d.path + "/maildirsize").c_str()) == 0);
  REQUIRE(::symlink("/dev/zero", (d.path + "/maildirsize").c_str()) == 0);
  {
    HangGuard guard;
    auto ro = read_usage(d.path, {1000, 0}, {false, 0});
    REQUIRE_MESSAGE(ro.is_ok(), ro.message());
    CHECK(ro->recalculated);
    CHECK_FALSE(append_delta(d.path, 5, 1).is_ok());
  }
}
