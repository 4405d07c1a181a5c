// libFuzzer target for what the authentication daemon reads from its peers: the input as
// a datagram through parse_frame and check_request, and as an AuthCheck payload. What is
// accepted must keep every field within the protocol's limits and re-encode to the same
// bytes. Seeds: tests/fuzz/corpus/auth_request_fuzz/. Replayed by `make unit`.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/auth/protocol.hpp"

namespace ipc = common::ipc;

namespace {

void require(bool cond) {
  if (!cond) std::abort();
}

void check(const ipc::FrameView& f, std::string_view datagram, bool whole) {
  auto r = common::auth::check_request(f);
  if (!r) return;
  require(!r->login.empty() && r->login.size() <= common::auth::kMaxLogin);
  require(!r->password.empty() && r->password.size() <= common::auth::kMaxPassword);
  require(r->service == common::auth::kServiceSmtp || r->service == common::auth::kServicePop3);
  if (whole) {
    require(ipc::encode_frame(*r) == datagram);
  } else {
    ipc::Encoder e;
    e(*r);
    require(e.out == datagram);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto f = ipc::parse_frame(in)) check(*f, in, true);
  check(ipc::FrameView{static_cast<std::uint16_t>(ipc::MsgType::kAuthCheck), in}, in, false);
  return 0;
}
