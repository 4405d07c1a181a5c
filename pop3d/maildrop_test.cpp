// Tests of the Maildir maildrop: new/ -> cur/, sizes from W= or the file, unique-ids
// stable across sessions and renames, the per-maildrop lock, deletion only at commit.
#include "pop3d/maildrop.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "common/io/fdio.hpp"
#include "pop3d/test_support.hpp"

using namespace pop3d;
using namespace pop3d::testing;

TEST_CASE("uid_for and wire_size_field") {
  CHECK(uid_for("1700000000.M1P2Q3.host,S=10,W=12:2,S") == "1700000000.M1P2Q3.host,S=10,W=12");
  CHECK(uid_for("1700000000.M1P2Q3.host,S=10,W=12") == "1700000000.M1P2Q3.host,S=10,W=12");
  std::string long_name(80, 'a');
  std::string u = uid_for(long_name + ":2,");
  CHECK(u.size() == 41);
  CHECK(u[0] == 'S');
  CHECK(u == uid_for(long_name));  // stable
  CHECK(uid_for("a b") != "a b");  // space is not allowed in a unique-id (RFC 1939 7)
  CHECK(wire_size_field("1.M1.h,S=10,W=12:2,") == 12u);
  CHECK(wire_size_field("1.M1.h,W=12,S=10") == 12u);
  CHECK_FALSE(wire_size_field("1.M1.h,S=10"));
  CHECK_FALSE(wire_size_field("1.M1.h:2,W=12"));  // after ':' is info, not the name
  CHECK_FALSE(wire_size_field("1.M1.h,W=x"));
}

TEST_CASE("open moves new/ to cur/, lists in arrival order with sizes") {
  TempDir t;
  auto md = make_maildir(t.path + "/md");
  put_file(md + "/new/1700000002.M1P1Q1.host,S=4,W=6", "a\nb\n");
  put_file(md + "/cur/1700000001.M1P1Q1.host:2,S", "x\ny\nz\n");  // no size fields: read
  put_file(md + "/cur/1700000003.M1P1Q2.host,S=2,W=3:2,", "q\n");
  put_file(md + "/new/.hidden", "ignored");
  Maildrop::OpenError why;
  auto d = Maildrop::open(md, &why);
  REQUIRE_MESSAGE(d.is_ok(), d.message());
  const auto& m = d.value()->messages();
  REQUIRE(m.size() == 3);
  CHECK(m[0].uid == "1700000001.M1P1Q1.host");
  CHECK(m[0].size == 9);
  CHECK(m[1].uid == "1700000002.M1P1Q1.host,S=4,W=6");
  CHECK(m[1].name == "1700000002.M1P1Q1.host,S=4,W=6:2,");
  CHECK(m[1].size == 6);
  CHECK(m[2].size == 3);
  CHECK(::access((md + "/cur/1700000002.M1P1Q1.host,S=4,W=6:2,").c_str(), F_OK) == 0);
  CHECK(::access((md + "/new/1700000002.M1P1Q1.host,S=4,W=6").c_str(), F_OK) != 0);
  CHECK(d.value()->live_count() == 3);
  CHECK(d.value()->live_size() == 18);
}

TEST_CASE("arrival order within one second follows the M<usec> field as a number") {
  TempDir t;
  auto md = make_maildir(t.path + "/md");
  // As strings "M10" < "M123456" < "M9": the listing must be 9, 10, 123456 microseconds.
  put_file(md + "/new/1700000005.M123456P7Q3.host,S=2,W=3", "c\n");
  put_file(md + "/new/1700000005.M10P7Q2.host,S=2,W=3", "b\n");
  put_file(md + "/cur/1700000005.M9P7Q1.host,S=2,W=3:2,S", "a\n");
  put_file(md + "/cur/1700000004.M999999P7Q9.host,S=2,W=3:2,", "0\n");
  Maildrop::OpenError why;
  auto d = Maildrop::open(md, &why);
  REQUIRE_MESSAGE(d.is_ok(), d.message());
  const auto& m = d.value()->messages();
  REQUIRE(m.size() == 4);
  CHECK(m[0].uid == "1700000004.M999999P7Q9.host,S=2,W=3");
  CHECK(m[1].uid == "1700000005.M9P7Q1.host,S=2,W=3");
  CHECK(m[2].uid == "1700000005.M10P7Q2.host,S=2,W=3");
  CHECK(m[3].uid == "1700000005.M123456P7Q3.host,S=2,W=3");
}

TEST_CASE("arrival_less: seconds, then usec, then the rest; other name forms") {
  CHECK(arrival_less("9.M1P1.h", "10.M0P1.h"));  // seconds as numbers
  CHECK_FALSE(arrival_less("10.M0P1.h", "9.M1P1.h"));
  CHECK(arrival_less("5.M9P1.h", "5.M10P1.h"));
  CHECK_FALSE(arrival_less("5.M10P1.h", "5.M9P1.h"));
  CHECK(arrival_less("5.P3M9Q1.h", "5.P2M10Q1.h"));  // M need not come first
  CHECK(arrival_less("5.M9P1Q1.h", "5.M9P1Q2.h"));   // same usec: the rest decides
  CHECK_FALSE(arrival_less("5.M9P1Q1.h", "5.M9P1Q1.h"));
  CHECK(arrival_less("5.1234.h", "5.M1P1.h"));  // old "time.pid.host": no usec, first
  CHECK(arrival_less("5.R1x.h", "5.R2x.h"));    // unknown forms still order totally
  CHECK(arrival_less("", "1.M1.h"));
  CHECK(arrival_less("abc", "abd"));
  std::string huge(200, '9');
  CHECK_FALSE(arrival_less(huge, huge));
  CHECK(arrival_less("5.M" + huge + ".a", "5.M" + huge + ".b"));
}

TEST_CASE("arrival_less: names other delivery agents write, within one second") {
  // Postfix local(8): "SECONDS.V<dev hex>I<inode hex>M<usec>.host"; the inode says
  // nothing about time, the M field does.
  CHECK(arrival_less("1700000005.V801I4b2aM9.host", "1700000005.V801I12M10.host"));
  CHECK(arrival_less("1700000005.VfdIffM999999.host", "1700000006.V801I1M0.host"));
  // Dovecot: "M<usec>P<pid>", optionally with Q<n> and V/I fields after it.
  CHECK(arrival_less("1700000005.M9P1234.host,S=5", "1700000005.M10P99.host,S=5"));
  CHECK(arrival_less("1700000005.M9P1V0000000000000801I0000000000004b2a_0.h",
                     "1700000005.M10P1V0000000000000801I0000000000000001_0.h"));
  // Courier maildrop: "M<usec>P<pid>_<n>".
  CHECK(arrival_less("1700000005.M99P7_3.host", "1700000005.M100P7_1.host"));
  // Our own and Postfix's names of one second interleave by the microsecond.
  CHECK(arrival_less("1700000005.V801I4b2aM9.host", "1700000005.M10P1Q2.host"));
  CHECK(arrival_less("1700000005.M10P1Q2.host", "1700000005.V801I4b2aM11.host"));
  // An 'M' that is not followed by digits is no tag, and one in the host part neither.
  CHECK(arrival_less("1700000005.MxP1.hostM1", "1700000005.M0P1.host"));
  std::vector<std::string> names = {"1700000005.V801I2M300.h", "1700000005.M20P1.h", "1700000004.9.h",
                                    "1700000005.M1000P1.h", "1700000005.M5P9_0.h"};
  std::sort(names.begin(), names.end(), arrival_less);
  CHECK(names == std::vector<std::string>{"1700000004.9.h", "1700000005.M5P9_0.h", "1700000005.M20P1.h",
                                          "1700000005.V801I2M300.h", "1700000005.M1000P1.h"});
}

TEST_CASE("one session per maildrop; the lock goes with the session") {
  TempDir t;
  auto md = make_maildir(t.path + "/md");
  Maildrop::OpenError why;
  auto first = Maildrop::open(md, &why);
  REQUIRE(first.is_ok());
  auto second = Maildrop::open(md, &why);
  CHECK_FALSE(second.is_ok());
  CHECK(why == Maildrop::OpenError::kInUse);
  first.value().reset();
  auto third = Maildrop::open(md, &why);
  CHECK(third.is_ok());
}

TEST_CASE("deletions are marks until commit; uids stable across sessions") {
  TempDir t;
  auto md = make_maildir(t.path + "/md");
  put_file(md + "/new/1700000001.A.h,S=2,W=3", "1\n");
  put_file(md + "/new/1700000002.B.h,S=2,W=3", "2\n");
  put_file(md + "/new/1700000003.C.h,S=2,W=3", "3\n");
  Maildrop::OpenError why;
  std::vector<std::string> uids;
  {
    auto d = Maildrop::open(md, &why);
    REQUIRE(d.is_ok());
    for (const auto& m : d.value()->messages()) uids.push_back(m.uid);
    d.value()->mark_deleted(1);
    CHECK(d.value()->live_count() == 2);
    d.value()->unmark_all();
    CHECK(d.value()->live_count() == 3);
    d.value()->mark_deleted(1);
    // dropped without commit: nothing deleted
  }
  {
    auto d = Maildrop::open(md, &why);
    REQUIRE(d.is_ok());
    REQUIRE(d.value()->messages().size() == 3);
    for (std::size_t i = 0; i < 3; ++i) CHECK(d.value()->messages()[i].uid == uids[i]);
    d.value()->mark_deleted(1);
    CHECK(*d.value()->commit() == 1);
  }
  auto d = Maildrop::open(md, &why);
  REQUIRE(d.is_ok());
  REQUIRE(d.value()->messages().size() == 2);
  CHECK(d.value()->messages()[0].uid == uids[0]);
  CHECK(d.value()->messages()[1].uid == uids[2]);
}

TEST_CASE("a message removed by another reader before commit is not an error") {
  TempDir t;
  auto md = make_maildir(t.path + "/md");
  put_file(md + "/new/1700000001.A.h,S=2,W=3", "1\n");
  Maildrop::OpenError why;
  auto d = Maildrop::open(md, &why);
  REQUIRE(d.is_ok());
  d.value()->mark_deleted(0);
  ::unlink((md + "/cur/1700000001.A.h,S=2,W=3:2,").c_str());
  CHECK(*d.value()->commit() == 1);
}

TEST_CASE("a missing Maildir fails without claiming it is in use") {
  TempDir t;
  Maildrop::OpenError why;
  CHECK_FALSE(Maildrop::open(t.path + "/nope", &why).is_ok());
  CHECK(why == Maildrop::OpenError::kFailed);
}

TEST_CASE("commit records the removals in maildirsize (Maildir++ quota), never creating it") {
  TempDir t;
  auto md = make_maildir(t.path + "/md");
  put_file(md + "/new/1700000001.A.h,S=20,W=21", "first message......\n");
  put_file(md + "/new/1700000002.B.h", "no size in the name\n");  // 20 bytes, by stat
  put_file(md + "/new/1700000003.C.h,S=7,W=8", "third!\n");
  Maildrop::OpenError why;
  {
    auto d = Maildrop::open(md, &why);
    REQUIRE(d.is_ok());
    d.value()->mark_deleted(0);
    REQUIRE(*d.value()->commit() == 1);
  }
  CHECK(::access((md + "/maildirsize").c_str(), F_OK) != 0);  // none: not created
  put_file(md + "/maildirsize", "1000S\n47 3\n");
  {
    auto d = Maildrop::open(md, &why);
    REQUIRE(d.is_ok());
    d.value()->mark_deleted(0);
    d.value()->mark_deleted(1);
    REQUIRE(*d.value()->commit() == 2);
  }
  auto text = common::io::read_file(md + "/maildirsize");
  REQUIRE(text.is_ok());
  CHECK(*text == "1000S\n47 3\n-27 -2\n");
}
