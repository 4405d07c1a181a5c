// Tests for the shared agent helpers: checking a passed queue-file fd against its
// request, copying the message out of it, and the I/O-error verdicts.
#include "delivery/message.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <cerrno>

#include "common/io/fdio.hpp"
#include "delivery/test_support.hpp"
#include "delivery/verdict.hpp"

using delivery::testing::make_queued;
using delivery::testing::TempDir;

TEST_CASE("check_message accepts a real queue file and its range") {
  TempDir dir;
  auto q = make_queued(dir.path, "a@example.org", {"b@example.org"}, "Subject: x\n\nbody\n");
  auto m = delivery::check_message(q.fd.get(), q.deliver);
  REQUIRE(m.is_ok());
  CHECK(m->size == 17);
  CHECK(m->lines == 3);
  CHECK(m->offset == q.deliver.data_offset);
}

TEST_CASE("check_message refuses what is not a regular file or out of range") {
  TempDir dir;
  auto q = make_queued(dir.path, "", {"b@example.org"}, "x\n");
  CHECK_FALSE(delivery::check_message(-1, q.deliver).is_ok());
  int p[2];
  REQUIRE(::pipe(p) == 0);
  auto r = delivery::check_message(p[0], q.deliver);
  CHECK_FALSE(r.is_ok());
  CHECK(r.message().find("not a regular file") != std::string::npos);
  ::close(p[0]);
  ::close(p[1]);
  auto dfd = common::io::open_dir(dir.path);
  REQUIRE(dfd.is_ok());
  CHECK_FALSE(delivery::check_message(dfd->get(), q.deliver).is_ok());

  auto d = q.deliver;
  d.data_size += 1;  // one byte past the end
  CHECK_FALSE(delivery::check_message(q.fd.get(), d).is_ok());
  d = q.deliver;
  d.data_offset = ~0ull - 1;  // overflow
  CHECK_FALSE(delivery::check_message(q.fd.get(), d).is_ok());
  d = q.deliver;
  d.data_lines = d.data_size + 1;
  CHECK_FALSE(delivery::check_message(q.fd.get(), d).is_ok());
}

TEST_CASE("copy_message copies exactly the message bytes and leaves the input offset") {
  TempDir dir;
  std::string body;
  for (int i = 0; i < 5000; ++i) body += "line " + std::to_string(i) + "\n";
  auto q = make_queued(dir.path, "a@example.org", {"b@example.org"}, body);
  auto m = delivery::check_message(q.fd.get(), q.deliver);
  REQUIRE(m.is_ok());
  off_t before = ::lseek(q.fd.get(), 0, SEEK_CUR);
  std::string out_path = dir.path + "/out";
  common::io::UniqueFd out(::open(out_path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600));
  REQUIRE(out.valid());
  REQUIRE(common::io::write_all(out.get(), "head\n").is_ok());
  REQUIRE(delivery::copy_message(*m, out.get()).is_ok());
  CHECK(::lseek(q.fd.get(), 0, SEEK_CUR) == before);
  auto got = common::io::read_file(out_path);
  REQUIRE(got.is_ok());
  CHECK(*got == "head\n" + body);

  // Into a pipe: copy_file_range cannot, sendfile can.
  auto small = make_queued(dir.path, "", {"b@example.org"}, "tiny\n");
  auto sm = delivery::check_message(small.fd.get(), small.deliver);
  REQUIRE(sm.is_ok());
  int p[2];
  REQUIRE(::pipe(p) == 0);
  REQUIRE(delivery::copy_message(*sm, p[1]).is_ok());
  char buf[16] = {};
  CHECK(::read(p[0], buf, sizeof buf) == 5);
  CHECK(std::string(buf) == "tiny\n");
  ::close(p[0]);
  ::close(p[1]);
}

TEST_CASE("copy_message reports a file shorter than promised") {
  TempDir dir;
  auto q = make_queued(dir.path, "", {"b@example.org"}, "0123456789\n");
  auto m = delivery::check_message(q.fd.get(), q.deliver);
  REQUIRE(m.is_ok());
  delivery::MessageRef longer = *m;
  longer.size += 100;  // as if the file were truncated after the check
  std::string out_path = dir.path + "/out";
  common::io::UniqueFd out(::open(out_path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600));
  REQUIRE(out.valid());
  auto st = delivery::copy_message(longer, out.get());
  CHECK_FALSE(st.is_ok());
  CHECK(st.err() == EIO);
}

TEST_CASE("local I/O errors are temporary, with RFC 3463 codes") {
  auto q = delivery::io_failure(EDQUOT, "x");
  CHECK(q.outcome == common::mail::Outcome::kTemporary);
  CHECK(q.status == "4.2.2");                                  // RFC 3463 3.3: mailbox full
  CHECK(delivery::io_failure(ENOSPC, "x").status == "4.3.1");  // 3.4: mail system full
  CHECK(delivery::io_failure(EIO, "x").status == "4.3.0");
  CHECK(delivery::io_failure(EIO, "disk said no").text == "disk said no");
}
