// The authentication protocol's shared rules: which AuthCheck frames the daemon accepts
// (edges of every field, wrong types, truncated and padded frames) and which peers it
// serves.
#include "common/auth/protocol.hpp"

#include <doctest/doctest.h>

#include <string>

namespace ipc = common::ipc;
using common::auth::check_request;

namespace {

ipc::AuthCheck good() {
  ipc::AuthCheck c;
  c.request_id = 7;
  c.service = "smtp";
  c.client = "192.0.2.1";
  c.login = "bob@example.test";
  c.password = "secret";
  return c;
}

common::Result<ipc::AuthCheck> roundtrip(const ipc::AuthCheck& c) {
  std::string frame = ipc::encode_frame(c);
  auto f = ipc::parse_frame(frame);
  REQUIRE(f.is_ok());
  return check_request(*f);
}

}  // namespace

TEST_CASE("check_request: a well-formed check passes unchanged") {
  auto r = roundtrip(good());
  REQUIRE(r.is_ok());
  CHECK(r->request_id == 7);
  CHECK(r->login == "bob@example.test");
  CHECK(r->password == "secret");
  auto p = good();
  p.service = "pop3";
  p.client = "2001:db8::1";
  CHECK(roundtrip(p).is_ok());
}

TEST_CASE("check_request: field limits") {
  auto c = good();
  c.service = "imap";
  CHECK(roundtrip(c).is_ok());
  c.service = "ftp";
  CHECK_FALSE(roundtrip(c).is_ok());
  c = good();
  c.login = "";
  CHECK_FALSE(roundtrip(c).is_ok());
  c.login = std::string(common::auth::kMaxLogin, 'a');
  CHECK(roundtrip(c).is_ok());
  c.login += "a";
  CHECK_FALSE(roundtrip(c).is_ok());
  c = good();
  c.login = "bob\r\nX-Injected: 1";
  CHECK_FALSE(roundtrip(c).is_ok());
  c = good();
  c.password = "";
  CHECK_FALSE(roundtrip(c).is_ok());
  c.password = std::string(common::auth::kMaxPassword, 'p');
  CHECK(roundtrip(c).is_ok());
  c.password += "p";
  CHECK_FALSE(roundtrip(c).is_ok());
  c = good();
  c.password = std::string("pw\0x", 4);
  CHECK_FALSE(roundtrip(c).is_ok());
  c = good();
  c.client = std::string(200, '1');
  CHECK_FALSE(roundtrip(c).is_ok());
}

TEST_CASE("check_request: other types, truncation and trailing bytes are refused") {
  std::string frame = ipc::encode_frame(good());
  auto f = ipc::parse_frame(frame);
  REQUIRE(f.is_ok());
  ipc::FrameView wrong = *f;
  wrong.type = static_cast<std::uint16_t>(ipc::MsgType::kAuthReply);
  CHECK_FALSE(check_request(wrong).is_ok());
  for (std::size_t cut = 0; cut < f->payload.size(); ++cut) {
    ipc::FrameView shorter{f->type, f->payload.substr(0, cut)};
    CHECK_FALSE(check_request(shorter).is_ok());
  }
  std::string padded = std::string(f->payload) + "x";
  CHECK_FALSE(check_request(ipc::FrameView{f->type, padded}).is_ok());
  // A string length far past the frame is refused without allocating it.
  std::string huge = std::string(f->payload.substr(0, 8)) + std::string("\xff\xff\xff\xff", 4);
  CHECK_FALSE(check_request(ipc::FrameView{f->type, huge}).is_ok());
}

TEST_CASE("AuthReply: results outside the enum do not decode") {
  ipc::AuthReply r;
  r.request_id = 1;
  r.result = ipc::AuthResult::kOk;
  r.account = "bob@example.test";
  std::string frame = ipc::encode_frame(r);
  auto f = ipc::parse_frame(frame);
  REQUIRE(f.is_ok());
  CHECK(ipc::decode<ipc::AuthReply>(*f).is_ok());
  frame[ipc::kHeaderSize + 8] = 3;  // the result byte
  auto g = ipc::parse_frame(frame);
  REQUIRE(g.is_ok());
  CHECK_FALSE(ipc::decode<ipc::AuthReply>(*g).is_ok());
}

TEST_CASE("peer_allowed: only the listed users when enforcing; anyone otherwise") {
  common::auth::PeerPolicy p;
  p.uids = {0, 101, 102};
  CHECK(common::auth::peer_allowed(p, 0));
  CHECK(common::auth::peer_allowed(p, 102));
  CHECK_FALSE(common::auth::peer_allowed(p, 103));
  CHECK_FALSE(common::auth::peer_allowed(common::auth::PeerPolicy{true, {}, {}, {}}, 0));
  CHECK(common::auth::peer_allowed(common::auth::PeerPolicy{false, {}, {}, {}}, 12345));
}

TEST_CASE("check_redeem: an account and a 64-digit hex token, nothing else") {
  ipc::AuthRedeem r;
  r.request_id = 9;
  r.account = "bob@example.test";
  r.token = std::string(common::auth::kTokenSize, 'a');
  auto check = [](const ipc::AuthRedeem& m) {
    std::string frame = ipc::encode_frame(m);
    auto f = ipc::parse_frame(frame);
    REQUIRE(f.is_ok());
    return common::auth::check_redeem(*f);
  };
  auto ok = check(r);
  REQUIRE(ok.is_ok());
  CHECK(ok->request_id == 9);
  CHECK(ok->token == r.token);
  auto bad = r;
  bad.token.pop_back();
  CHECK_FALSE(check(bad).is_ok());
  bad = r;
  bad.token[3] = 'A';
  CHECK_FALSE(check(bad).is_ok());
  bad = r;
  bad.token += "a";
  CHECK_FALSE(check(bad).is_ok());
  bad = r;
  bad.account = "";
  CHECK_FALSE(check(bad).is_ok());
  bad = r;
  bad.account = "bob\n@example.test";
  CHECK_FALSE(check(bad).is_ok());
  bad = r;
  bad.account = std::string(common::auth::kMaxLogin + 1, 'b');
  CHECK_FALSE(check(bad).is_ok());
  // An AuthCheck is not a redeem, nor the other way round.
  std::string frame = ipc::encode_frame(r);
  auto f = ipc::parse_frame(frame);
  REQUIRE(f.is_ok());
  CHECK_FALSE(check_request(*f).is_ok());
  std::string cf = ipc::encode_frame(good());
  auto g = ipc::parse_frame(cf);
  REQUIRE(g.is_ok());
  CHECK_FALSE(common::auth::check_redeem(*g).is_ok());
}

TEST_CASE("redeem_allowed: only the mailbox process's users when enforcing") {
  common::auth::PeerPolicy p;
  p.uids = {0, 101};
  p.redeem_uids = {0, 105};
  CHECK(common::auth::redeem_allowed(p, 105));
  CHECK_FALSE(common::auth::redeem_allowed(p, 101));  // the login process cannot redeem
  CHECK_FALSE(common::auth::peer_allowed(p, 105));    // nor the mailbox process check passwords
  CHECK(common::auth::redeem_allowed(common::auth::PeerPolicy{false, {}, {}, {}}, 4242));
}

TEST_CASE("check_allowed: the IMAP checker asks about IMAP only, the others never about IMAP") {
  common::auth::PeerPolicy p;
  p.uids = {0, 101, 102};
  p.redeem_uids = {0, 105};
  p.imap_uids = {0, 107};
  using common::auth::check_allowed;
  CHECK(check_allowed(p, 107, "imap"));
  CHECK_FALSE(check_allowed(p, 107, "pop3"));  // no POP3 login token for Dovecot's side
  CHECK_FALSE(check_allowed(p, 107, "smtp"));
  CHECK_FALSE(check_allowed(p, 101, "imap"));  // smtpd and pop3d keep to their services
  CHECK(check_allowed(p, 101, "smtp"));
  CHECK_FALSE(check_allowed(p, 105, "imap"));
  CHECK(check_allowed(p, 0, "imap"));
  CHECK(common::auth::connect_allowed(p, 107));
  CHECK(common::auth::connect_allowed(p, 105));
  CHECK_FALSE(common::auth::connect_allowed(p, 108));
  CHECK_FALSE(common::auth::redeem_allowed(p, 107));
  common::auth::PeerPolicy open;
  open.enforce = false;
  CHECK(check_allowed(open, 4242, "imap"));
}
