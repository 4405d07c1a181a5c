// libFuzzer target for the IPC decoder (common/ipc/codec.hpp): parse_frame on the input
// as a datagram, and decode<T> of every message type on both the parsed frame and the raw
// input as a payload. What decodes must re-encode to exactly the same bytes (the encoding
// is canonical), so nothing is silently dropped or reinterpreted.
// Seeds: tests/fuzz/corpus/ipc_fuzz/. Replayed by `make unit`, fuzzed by `make fuzz`.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/ipc/codec.hpp"
#include "common/ipc/messages.hpp"

namespace ipc = common::ipc;

namespace {

void require(bool cond) {
  if (!cond) std::abort();
}

template <class T>
void try_decode(std::string_view datagram, const ipc::FrameView* frame) {
  if (frame) {
    auto d = ipc::decode<T>(*frame);
    if (d) {
      require(frame->type == static_cast<std::uint16_t>(T::kType));
      require(ipc::encode_frame(*d) == datagram);
    }
  }
  // The whole input as a payload, so the fuzzer need not get the header right.
  ipc::FrameView raw{static_cast<std::uint16_t>(T::kType), datagram};
  auto d = ipc::decode<T>(raw);
  if (d) {
    ipc::Encoder e;
    e(*d);
    require(e.out == datagram);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto f = ipc::parse_frame(in);
  if (f) {
    require(size >= ipc::kHeaderSize && size <= ipc::kMaxFrame);
    require(f->payload.size() == size - ipc::kHeaderSize);
  }
  const ipc::FrameView* fv = f ? &*f : nullptr;
  try_decode<ipc::Hello>(in, fv);
  try_decode<ipc::Submit>(in, fv);
  try_decode<ipc::SubmitDone>(in, fv);
  try_decode<ipc::Etrn>(in, fv);
  try_decode<ipc::Atrn>(in, fv);
  try_decode<ipc::AtrnDone>(in, fv);
  try_decode<ipc::Turn>(in, fv);
  try_decode<ipc::EtrnDone>(in, fv);
  try_decode<ipc::Deliver>(in, fv);
  try_decode<ipc::DeliverDone>(in, fv);
  try_decode<ipc::QueueList>(in, fv);
  try_decode<ipc::QueueListReply>(in, fv);
  try_decode<ipc::QueueCommand>(in, fv);
  try_decode<ipc::QueueCommandReply>(in, fv);
  try_decode<ipc::Check>(in, fv);
  try_decode<ipc::CheckDone>(in, fv);
  try_decode<ipc::AuthCheck>(in, fv);
  try_decode<ipc::AuthReply>(in, fv);
  try_decode<ipc::AuthRedeem>(in, fv);
  try_decode<ipc::AuthRedeemReply>(in, fv);
  try_decode<ipc::KeyOp>(in, fv);
  try_decode<ipc::KeyOpDone>(in, fv);
  try_decode<ipc::Pop3Handover>(in, fv);
  try_decode<ipc::Pop3HandoverDone>(in, fv);
  try_decode<ipc::Pop3SessionEnded>(in, fv);
  return 0;
}
