// Tests for Maildir delivery: unique names (https://cr.yp.to/proto/maildir.html with
// Dovecot's S= and W=), the delivery header lines, path checks, and the write / fsync /
// rename steps against a real temporary Maildir and a real queue file.
#include "delivery/local/maildir.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <set>

#include "common/io/fdio.hpp"
#include "delivery/test_support.hpp"

using namespace delivery::local;
using delivery::testing::list_dir;
using delivery::testing::make_queued;
using delivery::testing::TempDir;

namespace {

std::uint64_t field(const std::string& name, const char* key) {
  auto p = name.find(key);
  REQUIRE(p != std::string::npos);
  return std::stoull(name.substr(p + std::string(key).size()));
}

// Matches `name` against `pattern`, where '#' stands for one or more digits.
bool has_shape(const std::string& name, const std::string& pattern) {
  std::size_t i = 0;
  for (char p : pattern) {
    if (p == '#') {
      std::size_t start = i;
      while (i < name.size() && name[i] >= '0' && name[i] <= '9') ++i;
      if (i == start) return false;
    } else {
      if (i >= name.size() || name[i] != p) return false;
      ++i;
    }
  }
  return i == name.size();
}

}  // namespace

TEST_CASE("hostname escaping: '/' and ':' as the Maildir spec says, and ','") {
  CHECK(maildir_hostname("mx.example.org") == "mx.example.org");
  CHECK(maildir_hostname("a/b:c") == "a\\057b\\072c");
  CHECK(maildir_hostname("x,S=1") == "x\\054S=1");
}

TEST_CASE("unique names have the documented shape") {
  CHECK(unique_name(1700000000, 123456, 4242, 7, "mx.example.org", 1000, 1030) ==
        "1700000000.M123456P4242Q7.mx.example.org,S=1000,W=1030");
  CHECK_FALSE(has_shape("1.M2P3Q.h,S=1,W=1", "#.M#P#Q#.h,S=1,W=1"));  // the checker can fail
  NameGenerator gen("host:1");
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string n = gen.next(10, 12);
    CHECK(has_shape(n, "#.M#P#Q#.host\\0721,S=10,W=12"));
    CHECK(n.find('/') == std::string::npos);
    seen.insert(n);
  }
  CHECK(seen.size() == 1000);
}

TEST_CASE("delivery header lines") {
  CHECK(delivery_headers("a@example.org", "u@example.net") ==
        "Return-Path: <a@example.org>\nDelivered-To: u@example.net\n");
  // RFC 5321 4.4: the null reverse-path is written as "<>".
  CHECK(delivery_headers("", "u@example.net") == "Return-Path: <>\nDelivered-To: u@example.net\n");
  // The envelope recipient only when something led from it to another mailbox.
  CHECK(delivery_headers("a@example.org", "u@example.net", "U@Example.NET") ==
        "Return-Path: <a@example.org>\nDelivered-To: u@example.net\n");
  CHECK(delivery_headers("a@example.org", "u@example.net", "sales@example.net") ==
        "Return-Path: <a@example.org>\nX-Original-To: sales@example.net\nDelivered-To: u@example.net\n");
}

TEST_CASE("Maildir::open creates the maildir and cur/ new/ tmp/ mode 0770") {
  TempDir dir;
  mode_t old = ::umask(007);
  std::string path = dir.path + "/example.org/user";
  auto md = Maildir::open(path);
  ::umask(old);
  REQUIRE(md.is_ok());
  for (const char* sub : {"cur", "new", "tmp"}) {
    struct stat st;
    REQUIRE(::stat((path + "/" + sub).c_str(), &st) == 0);
    CHECK(S_ISDIR(st.st_mode));
    CHECK((st.st_mode & 07777) == 0770);
  }
  // Opening an existing one works and changes nothing.
  CHECK(Maildir::open(path).is_ok());
  // A regular file where the maildir should be is an error, not a crash.
  REQUIRE(common::io::write_all(
              common::io::UniqueFd(::open((dir.path + "/file").c_str(), O_WRONLY | O_CREAT, 0600)).get(), "x")
              .is_ok());
  auto bad = Maildir::open(dir.path + "/file");
  CHECK_FALSE(bad.is_ok());
  CHECK(bad.status().err() == ENOTDIR);
}

TEST_CASE("a draft becomes new/<unique> with headers, message, and exact S= and W=") {
  TempDir dir;
  std::string body = "Subject: hello\n\nline one\nline two\n";
  auto q = make_queued(dir.path, "sender@example.org", {"u@example.net"}, body);
  auto msg = delivery::check_message(q.fd.get(), q.deliver);
  REQUIRE(msg.is_ok());
  auto md = Maildir::open(dir.path + "/md");
  REQUIRE(md.is_ok());
  NameGenerator gen("mx.example.net");
  std::string headers = delivery_headers("sender@example.org", "u@example.net");
  auto d = write_draft(*md, gen, headers, *msg);
  REQUIRE(d.is_ok());
  CHECK(list_dir(dir.path + "/md/tmp") == std::vector<std::string>{d->name});
  REQUIRE(sync_draft(*md, *d).is_ok());
  REQUIRE(publish_draft(*md, *d).is_ok());
  REQUIRE(md->sync_new().is_ok());
  CHECK(list_dir(dir.path + "/md/tmp").empty());
  REQUIRE(list_dir(dir.path + "/md/new") == std::vector<std::string>{d->name});

  std::string file = dir.path + "/md/new/" + d->name;
  auto content = common::io::read_file(file);
  REQUIRE(content.is_ok());
  CHECK(*content == headers + body);
  struct stat st;
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0660);
  CHECK(field(d->name, ",S=") == static_cast<std::uint64_t>(st.st_size));
  // W= is the size with CRLF line ends: one more byte per LF.
  auto lfs = static_cast<std::uint64_t>(std::count(content->begin(), content->end(), '\n'));
  CHECK(field(d->name, ",W=") == static_cast<std::uint64_t>(st.st_size) + lfs);
  CHECK(lfs == q.deliver.data_lines + 2);
}

TEST_CASE("a failed write leaves nothing in tmp/") {
  TempDir dir;
  auto q = make_queued(dir.path, "", {"u@example.net"}, "short\n");
  auto msg = delivery::check_message(q.fd.get(), q.deliver);
  REQUIRE(msg.is_ok());
  delivery::MessageRef past_end = *msg;
  past_end.size += 1000;
  auto md = Maildir::open(dir.path + "/md");
  REQUIRE(md.is_ok());
  NameGenerator gen("h");
  auto d = write_draft(*md, gen, delivery_headers("", "u@example.net"), past_end);
  CHECK_FALSE(d.is_ok());
  CHECK(d.status().err() == EIO);
  CHECK(list_dir(dir.path + "/md/tmp").empty());
}

TEST_CASE("a draft whose fd was closed is re-opened for fsync; discard removes it") {
  TempDir dir;
  auto q = make_queued(dir.path, "", {"u@example.net"}, "x\n");
  auto msg = delivery::check_message(q.fd.get(), q.deliver);
  REQUIRE(msg.is_ok());
  auto md = Maildir::open(dir.path + "/md");
  REQUIRE(md.is_ok());
  NameGenerator gen("h");
  auto d = write_draft(*md, gen, "", *msg);
  REQUIRE(d.is_ok());
  d->fd.reset();
  CHECK(sync_draft(*md, *d).is_ok());
  REQUIRE(publish_draft(*md, *d).is_ok());
  CHECK(list_dir(dir.path + "/md/new").size() == 1);
  discard_draft(*md, *d);
  CHECK(list_dir(dir.path + "/md/new").empty());
}

TEST_CASE("delivery tags: queue id and recipient, case-folded, found in new/ and cur/") {
  std::string t = delivery_tag("660F572708D9DFC8", "Alice@Example.org");
  CHECK(t.starts_with("R660F572708D9DFC8-"));
  CHECK(t.size() == 1 + 16 + 1 + 16);
  CHECK(t == delivery_tag("660F572708D9DFC8", "alice@example.org"));
  CHECK(t != delivery_tag("660F572708D9DFC8", "bob@example.org"));
  CHECK(unique_name(1700000000, 5, 6, 7, "h", 1, 2, t) == "1700000000.M5P6Q7" + t + ".h,S=1,W=2");
  TempDir d;
  auto md = Maildir::open(d.path + "/md");
  REQUIRE(md.is_ok());
  CHECK_FALSE(*md->holds(t));
  std::ofstream(d.path + "/md/cur/1700000000.M5P6Q7" + t + ".h,S=1,W=2:2,S") << "x";
  CHECK(*md->holds(t));
  CHECK_FALSE(*md->holds(t.substr(0, t.size() - 1)));  // a prefix is not the tag
}
