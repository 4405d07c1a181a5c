// The handover frame's checks: a well-formed Pop3Handover passes; a missing descriptor, a
// bad token or account, too much input, truncation and trailing bytes are refused.
#include "pop3d/handover.hpp"

#include <doctest/doctest.h>

#include <string>

namespace ipc = common::ipc;
using pop3d::check_handover;

namespace {

ipc::Pop3Handover good() {
  ipc::Pop3Handover h;
  h.request_id = 3;
  h.account = "bob@example.test";
  h.token = std::string(64, 'f');
  h.client = "192.0.2.1";
  h.tls = true;
  h.input = "STAT\r\nLIST\r\n";
  return h;
}

common::Result<ipc::Pop3Handover> check(const ipc::Pop3Handover& h, bool fd = true) {
  std::string frame = ipc::encode_frame(h);
  auto f = ipc::parse_frame(frame);
  REQUIRE(f.is_ok());
  return check_handover(*f, fd);
}

}  // namespace

TEST_CASE("check_handover: a good frame with a descriptor passes unchanged") {
  auto r = check(good());
  REQUIRE(r.is_ok());
  CHECK(r->request_id == 3);
  CHECK(r->tls);
  CHECK(r->input == "STAT\r\nLIST\r\n");
  CHECK_FALSE(check(good(), false).is_ok());
}

TEST_CASE("check_handover: field limits") {
  auto h = good();
  h.token = std::string(63, 'f');
  CHECK_FALSE(check(h).is_ok());
  h.token = std::string(64, 'F');
  CHECK_FALSE(check(h).is_ok());
  h = good();
  h.account = "";
  CHECK_FALSE(check(h).is_ok());
  h.account = "a\rb@example.test";
  CHECK_FALSE(check(h).is_ok());
  h = good();
  h.client = std::string(65, '1');
  CHECK_FALSE(check(h).is_ok());
  h = good();
  h.input = std::string(pop3d::kMaxHandoverInput, 'x');
  CHECK(check(h).is_ok());
  h.input += "x";
  CHECK_FALSE(check(h).is_ok());
}

TEST_CASE("check_handover: other types, truncation, trailing bytes, bad bool") {
  std::string frame = ipc::encode_frame(good());
  auto f = ipc::parse_frame(frame);
  REQUIRE(f.is_ok());
  ipc::FrameView wrong = *f;
  wrong.type = static_cast<std::uint16_t>(ipc::MsgType::kPop3HandoverDone);
  CHECK_FALSE(check_handover(wrong, true).is_ok());
  for (std::size_t cut = 0; cut < f->payload.size(); cut += 3)
    CHECK_FALSE(check_handover(ipc::FrameView{f->type, f->payload.substr(0, cut)}, true).is_ok());
  std::string padded = std::string(f->payload) + "x";
  CHECK_FALSE(check_handover(ipc::FrameView{f->type, padded}, true).is_ok());
  // The tls byte sits after request id, account, token and client.
  std::string bad(f->payload);
  std::size_t tls_at = 8 + 4 + good().account.size() + 4 + 64 + 4 + good().client.size();
  REQUIRE(bad[tls_at] == 1);
  bad[tls_at] = 2;
  CHECK_FALSE(check_handover(ipc::FrameView{f->type, bad}, true).is_ok());
}

TEST_CASE("Pop3HandoverDone: results outside the enum do not decode") {
  ipc::Pop3HandoverDone d;
  d.request_id = 1;
  d.result = ipc::HandoverResult::kInUse;
  std::string frame = ipc::encode_frame(d);
  auto f = ipc::parse_frame(frame);
  REQUIRE(f.is_ok());
  CHECK(ipc::decode<ipc::Pop3HandoverDone>(*f).is_ok());
  frame[ipc::kHeaderSize + 8] = 4;
  auto g = ipc::parse_frame(frame);
  REQUIRE(g.is_ok());
  CHECK_FALSE(ipc::decode<ipc::Pop3HandoverDone>(*g).is_ok());
}

TEST_CASE("handover_allowed: only the listed users when enforcing") {
  pop3d::HandoverPolicy p{true, {0, 120}};
  CHECK(pop3d::handover_allowed(p, 120));
  CHECK_FALSE(pop3d::handover_allowed(p, 121));
  CHECK(pop3d::handover_allowed(pop3d::HandoverPolicy{false, {}}, 121));
}
