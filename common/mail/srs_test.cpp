// Tests for the Sender Rewriting Scheme (srs.hpp): forward and reverse, SRS1 for a
// sender that is already rewritten, hash and timestamp checks, case changes by other
// MTAs, the 64-octet limit.
#include "common/mail/srs.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

using namespace common::mail;

namespace {
const std::string kSecret = "0123456789abcdef0123456789abcdef";
constexpr std::int64_t kNow = 1750000000;  // a fixed day
constexpr std::int64_t kDay = 86400;

std::string local_of(const std::string& a) { return a.substr(0, a.rfind('@')); }
}  // namespace

TEST_CASE("SRS0 round trip") {
  auto f = srs::forward(kSecret, "alice", "origin.example", "fwd.example", kNow);
  REQUIRE(f.is_ok());
  CHECK(f->starts_with("SRS0="));
  CHECK(f->ends_with("=origin.example=alice@fwd.example"));
  CHECK(f->size() == std::string("SRS0=HHHHHH=TT=origin.example=alice@fwd.example").size());
  CHECK(srs::is_srs(local_of(*f)));
  auto r = srs::reverse(kSecret, local_of(*f), kNow + 3 * kDay);
  REQUIRE(r.is_ok());
  CHECK(*r == "alice@origin.example");
}

TEST_CASE("reverse survives case changes, not tampering") {
  std::string l = local_of(*srs::forward(kSecret, "Bob.Smith", "Origin.Example", "fwd.example", kNow));
  std::string lower_l = l, upper_l = l;
  for (char& c : lower_l) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (char& c : upper_l) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  CHECK(srs::reverse(kSecret, lower_l, kNow).is_ok());
  CHECK(srs::reverse(kSecret, upper_l, kNow).is_ok());
  // Another original address under the same hash: refused.
  std::string forged = l;
  forged.replace(forged.rfind('=') + 1, std::string::npos, "mallory");
  CHECK_FALSE(srs::reverse(kSecret, forged, kNow).is_ok());
  // Moving the '=' between domain and local part changes the hash input too.
  auto f = *srs::forward(kSecret, "c", "ab.example", "fwd.example", kNow);
  std::string shifted = local_of(f);
  shifted.replace(shifted.find("=ab.example=c"), std::string::npos, "=ab.exampl=ec");
  CHECK_FALSE(srs::reverse(kSecret, shifted, kNow).is_ok());
  // Another secret: refused.
  CHECK_FALSE(srs::reverse("another-secret-of-enough-length", l, kNow).is_ok());
}

TEST_CASE("SRS0 expires after kMaxAgeDays, across the 1024-day wrap too") {
  std::string l = local_of(*srs::forward(kSecret, "a", "b.example", "f.example", kNow));
  CHECK(srs::reverse(kSecret, l, kNow + srs::kMaxAgeDays * kDay).is_ok());
  CHECK_FALSE(srs::reverse(kSecret, l, kNow + (srs::kMaxAgeDays + 1) * kDay).is_ok());
  // A timestamp from "tomorrow" (clock skew between hosts is not ours, but the maths
  // must not call it fresh): 1023 days old.
  CHECK_FALSE(srs::reverse(kSecret, l, kNow - kDay).is_ok());
  std::int64_t wrap = (1023 - (kNow / kDay) % 1024) * kDay + kNow;  // day 1023 mod 1024
  std::string w = local_of(*srs::forward(kSecret, "a", "b.example", "f.example", wrap));
  CHECK(srs::reverse(kSecret, w, wrap + 2 * kDay).is_ok());
}

TEST_CASE("an SRS0 sender becomes SRS1, which reverses to the first forwarder's SRS0") {
  std::string hop1 =
      *srs::forward("first-forwarder-secret-123456", "alice", "origin.example", "first.example", kNow);
  auto hop2 = srs::forward(kSecret, local_of(hop1), "first.example", "second.example", kNow);
  REQUIRE(hop2.is_ok());
  CHECK(hop2->starts_with("SRS1="));
  CHECK(hop2->find("=first.example==") != std::string::npos);
  auto back = srs::reverse(kSecret, local_of(*hop2), kNow + 20 * kDay);
  REQUIRE(back.is_ok());
  CHECK(*back == hop1);
  // SRS1 expires with the first forwarder's timestamp inside it, as SRS0 does.
  CHECK(srs::reverse(kSecret, local_of(*hop2), kNow + srs::kMaxAgeDays * kDay).is_ok());
  auto old = srs::reverse(kSecret, local_of(*hop2), kNow + (srs::kMaxAgeDays + 1) * kDay);
  REQUIRE_FALSE(old.is_ok());
  CHECK(old.message().find("expired") != std::string::npos);
  CHECK_FALSE(srs::reverse(kSecret, local_of(*hop2), kNow + 100 * kDay).is_ok());
  // A third hop re-signs the SRS1 and keeps the first host.
  auto hop3 = srs::forward(kSecret, local_of(*hop2), "second.example", "third.example", kNow);
  REQUIRE(hop3.is_ok());
  CHECK(hop3->find("=first.example==") != std::string::npos);
  CHECK(*srs::reverse(kSecret, local_of(*hop3), kNow) == hop1);
}

TEST_CASE("an expired SRS0 sender is wrapped, not turned into an SRS1 that never reverses") {
  std::string hop1 = *srs::forward("first-forwarder-secret-123456", "al", "o.example", "f.example", kNow);
  std::int64_t later = kNow + (srs::kMaxAgeDays + 5) * kDay;
  auto hop2 = srs::forward(kSecret, local_of(hop1), "f.example", "s.example", later);
  REQUIRE(hop2.is_ok());
  CHECK(hop2->starts_with("SRS0="));
  auto back = srs::reverse(kSecret, local_of(*hop2), later);
  REQUIRE(back.is_ok());
  CHECK(*back == hop1);
}

TEST_CASE("addresses that would not fit 64 octets are refused") {
  std::string long_local(40, 'x');
  CHECK_FALSE(srs::forward(kSecret, long_local, "a-rather-long-domain.example", "f.example", kNow).is_ok());
}

TEST_CASE("is_srs and malformed input") {
  CHECK(srs::is_srs("SRS0=abc"));
  CHECK(srs::is_srs("srs1+abc"));
  CHECK(srs::is_srs("Srs0-x"));
  CHECK_FALSE(srs::is_srs("srs0"));
  CHECK_FALSE(srs::is_srs("srs2=abc"));
  CHECK_FALSE(srs::is_srs("alice"));
  for (const char* bad :
       {"SRS0=", "SRS0=ABCDEF", "SRS0=ABCDEF=AA", "SRS0=ABCDEF=AA=dom", "SRS0=ABC=AA=dom=x",
        "SRS1=ABCDEF=host", "SRS1=ABCDEF==x", "SRS1=ABCDEF=host=x", "SRS0=ABCDEF=!!=d.example=x"}) {
    CAPTURE(bad);
    CHECK_FALSE(srs::reverse(kSecret, bad, kNow).is_ok());
  }
}

TEST_CASE("secrets: fresh ones differ; the file is read trimmed; short ones refused") {
  auto a = srs::new_secret(), b = srs::new_secret();
  REQUIRE(a.is_ok());
  CHECK(a->size() == 64);
  CHECK(*a != *b);
  std::string dir = std::filesystem::temp_directory_path() / "srs-secret-test";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/ok") << "  " << *a << "\n";
  std::ofstream(dir + "/short") << "tiny\n";
  CHECK(*srs::load_secret(dir + "/ok") == *a);
  CHECK_FALSE(srs::load_secret(dir + "/short").is_ok());
  CHECK_FALSE(srs::load_secret(dir + "/missing").is_ok());
  std::filesystem::remove_all(dir);
}
