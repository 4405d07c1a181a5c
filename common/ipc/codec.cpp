// Frame header check for the IPC codec.
#include "common/ipc/codec.hpp"

namespace common::ipc {

Result<FrameView> parse_frame(std::string_view d) {
  if (d.size() < kHeaderSize) return Status::error("frame shorter than its header");
  if (d.size() > kMaxFrame) return Status::error("frame larger than the limit");
  auto b = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(d[i])); };
  std::uint32_t len = (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
  if (len != d.size()) return Status::error("frame length does not match datagram");
  FrameView f;
  f.type = static_cast<std::uint16_t>((b(4) << 8) | b(5));
  f.payload = d.substr(kHeaderSize);
  return f;
}

}  // namespace common::ipc
