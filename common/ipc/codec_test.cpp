// Unit tests for the IPC codec (common/ipc/codec.hpp): every message of messages.hpp
// round-trips, and decode() refuses every malformed payload (truncated at any length,
// trailing bytes, wrong type, lying counts, bad bools and enums) without allocating
// more than the frame justifies.
#include "common/ipc/codec.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <new>
#include <set>
#include <string>

#include "common/ipc/messages.hpp"

using namespace common::ipc;
using common::mail::Outcome;
using common::mail::Verdict;

// Allocation watch for the "no huge allocation" checks: the largest single request made
// while g_watch is on. Replaces the global allocator for this test binary only.
namespace {
bool g_watch = false;
std::size_t g_largest = 0;
}  // namespace

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t n) {
  if (g_watch && n > g_largest) g_largest = n;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace {

Hello sample_hello() {
  Hello h;
  h.protocol = kProtoSubmit;
  h.version = kProtoVersion;
  h.role = "smtpd";
  return h;
}
Submit sample_submit() {
  Submit s;
  s.request_id = 0x0102030405060708ULL;
  return s;
}
SubmitDone sample_submit_done() {
  SubmitDone d;
  d.request_id = ~0ULL;
  d.verdict = Verdict{Outcome::kTemporary, "4.3.0", "disk full, try later"};
  d.queue_id = "0123456789ABCDEF";
  return d;
}
Deliver sample_deliver() {
  Deliver d;
  d.delivery_id = 77;
  d.queue_id = "FEDCBA9876543210";
  d.arrival = -5;  // signed fields survive the round trip
  d.sender = "";
  d.recipients = {"a@example.org", "\"b c\"@example.org", std::string("x\0y", 3)};
  d.nexthop = "mx.example.net";
  d.data_offset = 123;
  d.data_size = 1ULL << 40;
  d.data_lines = 42;
  d.body_8bit = true;
  d.smtputf8 = false;
  d.origin = common::spool::Origin::kLocalAgent;
  return d;
}
DeliverDone sample_deliver_done() {
  DeliverDone d;
  d.delivery_id = 78;
  d.results = {Verdict{Outcome::kOk, "2.0.0", "delivered"},
               Verdict{Outcome::kPermanent, "5.1.1", "no such user"}, Verdict{Outcome::kTemporary, "", ""}};
  d.dsn_passed = {1, 0, 0};
  return d;
}

Etrn sample_etrn() {
  Etrn e;
  e.request_id = 3;
  e.domain = "dialup.example";
  e.subdomains = true;
  return e;
}
EtrnDone sample_etrn_done() {
  EtrnDone e;
  e.request_id = 3;
  e.ok = true;
  e.messages = 12;
  return e;
}
QueueList sample_queue_list() {
  QueueList l;
  l.after = "0123456789ABCDEF";
  l.only = "";
  return l;
}
QueueListReply sample_queue_list_reply() {
  QueueListReply r;
  QueueEntry e;
  e.id = "0123456789ABCDEF";
  e.arrival = 1700000000;
  e.size = 1234;
  e.sender = "a@example.org";
  e.hold = true;
  e.next_try = 1700000300;
  e.attempts = 2;
  QueueRcptInfo ri;
  ri.address = "b@example.net";
  ri.state = 1;
  ri.status = "4.4.1";
  ri.text = "connection refused";
  e.rcpts = {ri, ri};
  r.entries = {e, QueueEntry{}};
  r.more = true;
  return r;
}
QueueCommand sample_queue_command() {
  QueueCommand c;
  c.command = "hold";
  c.arg = "0123456789ABCDEF";
  return c;
}
QueueCommandReply sample_queue_command_reply() {
  QueueCommandReply c;
  c.ok = true;
  c.count = 1;
  c.text = "held";
  return c;
}

template <class T>
std::string payload_of(const T& m) {
  Encoder e;
  e(m);
  return e.out;
}

template <class T>
FrameView view(std::uint16_t type, const std::string& payload) {
  (void)sizeof(T);
  FrameView f;
  f.type = type;
  f.payload = payload;
  return f;
}

// Decodes the frame of `m`, re-encodes it and returns the decoded message.
template <class T>
T round_trip(const T& m) {
  std::string frame = encode_frame(m);
  auto f = parse_frame(frame);
  REQUIRE_MESSAGE(f.is_ok(), f.message());
  CHECK(f->type == static_cast<std::uint16_t>(T::kType));
  auto d = decode<T>(*f);
  REQUIRE_MESSAGE(d.is_ok(), d.message());
  CHECK(encode_frame(*d) == frame);
  return *d;
}

// Every proper prefix of the payload, and the payload plus any trailing byte, is refused.
template <class T>
void check_exact(const T& m) {
  std::string p = payload_of(m);
  for (std::size_t len = 0; len < p.size(); ++len) {
    std::string cut = p.substr(0, len);
    auto d = decode<T>(view<T>(static_cast<std::uint16_t>(T::kType), cut));
    INFO("prefix of ", len, " of ", p.size(), " bytes");
    CHECK_FALSE(d.is_ok());
  }
  for (std::string extra : {std::string(1, '\0'), std::string("x"), std::string(100, 'z')}) {
    std::string longer = p + extra;
    auto d = decode<T>(view<T>(static_cast<std::uint16_t>(T::kType), longer));
    REQUIRE_FALSE(d.is_ok());
    CHECK(d.message() == "malformed message: trailing bytes");
  }
}

void put_u32(std::string& s, std::uint32_t v) {
  for (int sh = 24; sh >= 0; sh -= 8) s.push_back(static_cast<char>((v >> sh) & 0xff));
}
void put_u64(std::string& s, std::uint64_t v) {
  for (int sh = 56; sh >= 0; sh -= 8) s.push_back(static_cast<char>((v >> sh) & 0xff));
}

}  // namespace

TEST_CASE("every message round-trips") {
  Hello h = round_trip(sample_hello());
  CHECK(h.protocol == "mailbag-submit");
  CHECK(h.version == kProtoVersion);
  CHECK(h.role == "smtpd");

  CHECK(round_trip(sample_submit()).request_id == 0x0102030405060708ULL);

  SubmitDone sd = round_trip(sample_submit_done());
  CHECK(sd.request_id == ~0ULL);
  CHECK(sd.verdict.outcome == Outcome::kTemporary);
  CHECK(sd.verdict.status == "4.3.0");
  CHECK(sd.verdict.text == "disk full, try later");
  CHECK(sd.queue_id == "0123456789ABCDEF");

  Deliver d = round_trip(sample_deliver());
  CHECK(d.delivery_id == 77);
  CHECK(d.arrival == -5);
  CHECK(d.sender.empty());
  REQUIRE(d.recipients.size() == 3);
  CHECK(d.recipients[1] == "\"b c\"@example.org");
  CHECK(d.recipients[2] == std::string("x\0y", 3));
  CHECK(d.data_size == 1ULL << 40);
  CHECK(d.body_8bit);
  CHECK_FALSE(d.smtputf8);
  CHECK(d.origin == common::spool::Origin::kLocalAgent);

  DeliverDone dd = round_trip(sample_deliver_done());
  REQUIRE(dd.results.size() == 3);
  CHECK(dd.results[1].outcome == Outcome::kPermanent);
  CHECK(dd.results[1].status == "5.1.1");
  CHECK(dd.dsn_passed == std::vector<std::uint8_t>{1, 0, 0});

  Etrn e = round_trip(sample_etrn());
  CHECK(e.domain == "dialup.example");
  CHECK(e.subdomains);
  CHECK(round_trip(sample_etrn_done()).messages == 12);
  Atrn a;
  a.request_id = 4;
  a.domains = {"site.example", "second.example"};
  a.client = "192.0.2.9";
  a.login = "site@isp.example";
  Atrn a2 = round_trip(a);
  CHECK(a2.domains == a.domains);
  CHECK(a2.login == "site@isp.example");
  AtrnDone ad;
  ad.request_id = 4;
  ad.ok = true;
  ad.messages = 2;
  CHECK(round_trip(ad).messages == 2);
  Turn t;
  t.turn_id = 7;
  t.peer = "site@isp.example [192.0.2.9]";
  t.delivery_ids = {11, 12, 0xffffffffffffULL};
  Turn t2 = round_trip(t);
  CHECK(t2.delivery_ids == t.delivery_ids);
  CHECK(t2.peer == t.peer);
  CHECK(round_trip(sample_queue_list()).after == "0123456789ABCDEF");
  QueueListReply lr = round_trip(sample_queue_list_reply());
  REQUIRE(lr.entries.size() == 2);
  REQUIRE(lr.entries[0].rcpts.size() == 2);
  CHECK(lr.entries[0].rcpts[1].text == "connection refused");
  CHECK(lr.entries[0].hold);
  CHECK(lr.more);
  CHECK(round_trip(sample_queue_command()).command == "hold");
  CHECK(round_trip(sample_queue_command_reply()).text == "held");

  // Empty and default-constructed messages too.
  round_trip(Hello{});
  round_trip(Submit{});
  round_trip(SubmitDone{});
  round_trip(Deliver{});
  round_trip(DeliverDone{});
  round_trip(Etrn{});
  round_trip(EtrnDone{});
  round_trip(QueueList{});
  round_trip(QueueListReply{});
  round_trip(QueueCommand{});
  round_trip(QueueCommandReply{});
}

TEST_CASE("wire layout is big-endian with u32-prefixed strings") {
  std::string f = encode_frame(sample_hello());
  // u32 length, u16 type, then "mailbag-submit" (u32 14 + bytes), u32 version, "smtpd".
  std::string want;
  put_u32(want, 6 + 4 + 14 + 4 + 4 + 5);
  want += std::string("\x00\x01", 2);
  put_u32(want, 14);
  want += "mailbag-submit";
  put_u32(want, kProtoVersion);
  put_u32(want, 5);
  want += "smtpd";
  CHECK(f == want);

  std::string s = encode_frame(sample_submit());
  CHECK(s == std::string("\x00\x00\x00\x0e\x00\x0a\x01\x02\x03\x04\x05\x06\x07\x08", 14));
  // bool is one byte 0/1, an enum its underlying type.
  std::string dd = payload_of(DeliverDone{5, {Verdict{Outcome::kPermanent, "", ""}}, {1}});
  std::string want_dd;
  put_u64(want_dd, 5);
  put_u32(want_dd, 1);
  want_dd += '\x02';
  put_u32(want_dd, 0);
  put_u32(want_dd, 0);
  put_u32(want_dd, 1);  // dsn_passed (version 3): u32 count, one byte each
  want_dd += '\x01';
  CHECK(dd == want_dd);
}

TEST_CASE("decode consumes the payload exactly") {
  check_exact(sample_hello());
  check_exact(sample_submit());
  check_exact(sample_submit_done());
  check_exact(sample_deliver());
  check_exact(sample_deliver_done());
  check_exact(sample_etrn());
  check_exact(sample_etrn_done());
  check_exact(sample_queue_list());
  check_exact(sample_queue_list_reply());
  check_exact(sample_queue_command());
  check_exact(sample_queue_command_reply());
  check_exact(Deliver{});
  check_exact(DeliverDone{});
}

TEST_CASE("decode refuses the wrong type") {
  std::string frame = encode_frame(sample_submit());
  auto f = parse_frame(frame);
  REQUIRE(f.is_ok());
  CHECK(decode<Submit>(*f).is_ok());
  auto wrong = decode<SubmitDone>(*f);
  REQUIRE_FALSE(wrong.is_ok());
  CHECK(wrong.message() == "unexpected message type");
  CHECK_FALSE(decode<Hello>(*f).is_ok());
  CHECK_FALSE(decode<Deliver>(*f).is_ok());
  CHECK_FALSE(decode<DeliverDone>(*f).is_ok());
  FrameView unknown{999, f->payload};
  CHECK_FALSE(decode<Submit>(unknown).is_ok());
}

TEST_CASE("bad bools and enums are refused") {
  std::string p = payload_of(sample_deliver());
  // smtputf8 and check_duplicates are the two bytes before origin, the last.
  for (unsigned char b : {2, 0x80, 0xff}) {
    std::string bad = p;
    bad[bad.size() - 3] = static_cast<char>(b);
    auto d = decode<Deliver>(view<Deliver>(20, bad));
    REQUIRE_FALSE(d.is_ok());
    CHECK(d.message() == "malformed message: bad bool");
    bad = p;
    bad[bad.size() - 2] = static_cast<char>(b);
    CHECK_FALSE(decode<Deliver>(view<Deliver>(20, bad)).is_ok());
  }
  // Origin is one of 0, 1, 2.
  for (unsigned char b : {3, 0x80, 0xff}) {
    std::string bad = p;
    bad[bad.size() - 1] = static_cast<char>(b);
    auto d = decode<Deliver>(view<Deliver>(20, bad));
    REQUIRE_FALSE(d.is_ok());
    CHECK(d.message() == "malformed message: bad enum value");
  }
  // Outcome is one of 0, 1, 2.
  std::string dd;
  put_u64(dd, 1);
  put_u32(dd, 1);
  for (unsigned char o : {0, 1, 2, 3, 0xff}) {
    std::string m = dd;
    m += static_cast<char>(o);
    put_u32(m, 0);
    put_u32(m, 0);
    put_u32(m, 0);  // no dsn_passed
    auto d = decode<DeliverDone>(view<DeliverDone>(21, m));
    INFO("outcome byte ", int(o));
    CHECK(d.is_ok() == (o <= 2));
    if (!d.is_ok()) CHECK(d.message() == "malformed message: bad enum value");
  }
  CHECK(common::mail::valid_enum(Outcome::kPermanent));
  CHECK_FALSE(common::mail::valid_enum(static_cast<Outcome>(3)));
}

TEST_CASE("lying lengths and counts are refused without allocating") {
  // String length far past the end.
  for (std::uint32_t n : {5u, 1000u, 0x7fffffffu, 0xffffffffu}) {
    std::string p;
    put_u32(p, n);
    p += "abcd";  // 4 bytes present
    g_watch = true;
    g_largest = 0;
    auto h = decode<Hello>(view<Hello>(1, p));
    g_watch = false;
    REQUIRE_FALSE(h.is_ok());
    CHECK(h.message() == "malformed message: string length past end of frame");
    CHECK(g_largest < 4096);
  }
  // Vector counts far past the end, for strings and for structs.
  for (std::uint32_t n : {0xffffffffu, 0x10000000u, 100000u}) {
    std::string dl;
    put_u64(dl, 1);
    put_u32(dl, n);
    dl += std::string(16, '\0');
    g_watch = true;
    g_largest = 0;
    auto d = decode<DeliverDone>(view<DeliverDone>(21, dl));
    g_watch = false;
    REQUIRE_FALSE(d.is_ok());
    CHECK(g_largest < 4096);
  }
  // A count that matches the bytes left (each element "could" be one byte) must still
  // not make the decoder reserve count * sizeof(element).
  std::string big;
  put_u64(big, 1);
  put_u32(big, 120000);
  big += std::string(120000, '\x07');  // every Verdict here has outcome 7: refused at once
  g_watch = true;
  g_largest = 0;
  auto d = decode<DeliverDone>(view<DeliverDone>(21, big));
  g_watch = false;
  REQUIRE_FALSE(d.is_ok());
  CHECK(g_largest < 64 * 1024);

  std::string rc;
  put_u64(rc, 1);                   // delivery_id
  put_u32(rc, 0);                   // queue_id ""
  put_u64(rc, 0);                   // arrival
  put_u32(rc, 0);                   // sender ""
  put_u32(rc, 100000);              // recipients count
  rc += std::string(100000, '\0');  // but only zero bytes follow
  g_watch = true;
  g_largest = 0;
  auto r = decode<Deliver>(view<Deliver>(20, rc));
  g_watch = false;
  CHECK_FALSE(r.is_ok());
  // 25000 empty strings really are there; memory stays proportional to the frame.
  CHECK(g_largest < 16 * rc.size());
}

TEST_CASE("parse_frame checks the header against the datagram") {
  std::string f = encode_frame(sample_submit_done());
  auto ok = parse_frame(f);
  REQUIRE(ok.is_ok());
  CHECK(ok->type == 11);
  CHECK(ok->payload.size() == f.size() - kHeaderSize);
  CHECK(ok->payload.data() == f.data() + kHeaderSize);

  for (std::size_t len = 0; len < kHeaderSize; ++len) {
    auto r = parse_frame(std::string_view(f.data(), len));
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.message() == "frame shorter than its header");
  }
  // Any cut or extension of the datagram disagrees with the length field.
  for (std::size_t len = kHeaderSize; len < f.size(); ++len) {
    auto r = parse_frame(std::string_view(f.data(), len));
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.message() == "frame length does not match datagram");
  }
  CHECK_FALSE(parse_frame(f + "x").is_ok());
  std::string lie = f;
  lie[0] = '\x7f';
  CHECK_FALSE(parse_frame(lie).is_ok());
  lie = f;
  lie[3] = static_cast<char>(lie[3] - 1);
  CHECK_FALSE(parse_frame(lie).is_ok());

  // A header-only frame is fine (an empty payload).
  std::string empty("\x00\x00\x00\x06\x00\x0a", 6);
  auto e = parse_frame(empty);
  REQUIRE(e.is_ok());
  CHECK(e->payload.empty());
  CHECK_FALSE(decode<Submit>(*e).is_ok());

  // The size cap: kMaxFrame passes, one more byte does not, whatever the header says.
  std::string max(kMaxFrame, 'a');
  max[0] = static_cast<char>(kMaxFrame >> 24);
  max[1] = static_cast<char>(kMaxFrame >> 16);
  max[2] = static_cast<char>(kMaxFrame >> 8);
  max[3] = static_cast<char>(kMaxFrame);
  CHECK(parse_frame(max).is_ok());
  std::string over = max + "a";
  over[3] = static_cast<char>(kMaxFrame + 1);
  auto r = parse_frame(over);
  REQUIRE_FALSE(r.is_ok());
  CHECK(r.message() == "frame larger than the limit");
}

TEST_CASE("message catalogue") {
  // Types and names are unique, and every message struct is in the name table.
  std::set<int> types;
  std::set<std::string> names;
  for (const auto& n : kMsgNames) {
    CHECK(types.insert(static_cast<int>(n.type)).second);
    CHECK(names.insert(n.name).second);
  }
  for (MsgType t : {Hello::kType, Submit::kType, SubmitDone::kType, Etrn::kType, EtrnDone::kType, Atrn::kType,
                    AtrnDone::kType, Turn::kType, Deliver::kType, DeliverDone::kType, QueueList::kType,
                    QueueListReply::kType, QueueCommand::kType, QueueCommandReply::kType})
    CHECK(types.count(static_cast<int>(t)) == 1);
}

TEST_CASE("TLS key daemon frames round-trip and refuse bad enums") {
  KeyOp op;
  op.request_id = 9;
  op.op = KeyOpKind::kEcdsa;
  op.key_id = std::string(32, '\x5a');
  op.data = std::string("\x00\x01\xff", 3);
  KeyOp o2 = round_trip(op);
  CHECK(o2.op == KeyOpKind::kEcdsa);
  CHECK(o2.key_id == op.key_id);
  CHECK(o2.data == op.data);
  KeyOpDone done;
  done.request_id = 9;
  done.result = KeyOpResult::kKeyMismatch;
  done.key_id = std::string(32, '\x01');
  done.text = "another key";
  KeyOpDone d2 = round_trip(done);
  CHECK(d2.result == KeyOpResult::kKeyMismatch);
  CHECK(d2.text == "another key");
  round_trip(KeyOp{});
  round_trip(KeyOpDone{});
  // The op byte follows the u64 request id; the result byte likewise.
  for (unsigned char b : {0, 3, 4, 0xff}) {
    std::string p = payload_of(op);
    p[8] = static_cast<char>(b);
    CHECK(decode<KeyOp>(view<KeyOp>(70, p)).is_ok() == (b <= 3));
    std::string q = payload_of(done);
    q[8] = static_cast<char>(b);
    CHECK(decode<KeyOpDone>(view<KeyOpDone>(71, q)).is_ok() == (b <= 3));
  }
  CHECK(static_cast<int>(KeyOp::kType) == 70);
  CHECK(static_cast<int>(KeyOpDone::kType) == 71);
}
