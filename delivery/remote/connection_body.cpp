// The message data of the outgoing connection (see connection.hpp): read from the queue
// file's fd in bounded pieces and queued for the socket below a high-water mark, either
// after DATA (CRLF line ends, dot stuffing, a final ".") or as BDAT chunks (RFC 3030 2:
// one chunk per piece, no dot stuffing, the last one with LAST).
#include <algorithm>

#include "common/io/fdio.hpp"
#include "common/log/log.hpp"
#include "delivery/remote/connection.hpp"

namespace delivery::remote {

namespace log = common::log;
namespace smtp = common::smtp;

namespace {
constexpr std::size_t kBodyHighWater = 256 * 1024;  // bytes queued for the socket at most
constexpr std::size_t kChunk = 64 * 1024;           // read from the queue file at a time
}  // namespace

void Connection::pump_body() {
  evbuffer* out = bufferevent_get_output(bev_.get());
  std::string wire;
  std::string raw;
  while (sending_body_ && evbuffer_get_length(out) < kBodyHighWater) {
    // The prefix (a DKIM-Signature field) goes first, through the same encoder, in one
    // piece with the start of the message.
    if (body_sent_ < prefix_.size()) {
      encoder_.encode(prefix_.substr(body_sent_), &wire);
      body_sent_ = prefix_.size();
    }
    std::uint64_t left = prefix_.size() + msg_.size - body_sent_;
    if (left > 0) {
      std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(left, kChunk));
      raw.clear();
      auto st = common::io::pread_upto(msg_.fd, &raw, want,
                                       static_cast<off_t>(msg_.offset + body_sent_ - prefix_.size()));
      if (!st || raw.empty()) {
        // Cannot finish the data: the only way out of DATA (or a BDAT chunk) is to drop
        // the connection, so that the server discards the partial message (RFC 5321
        // 4.1.1.4).
        std::string why = st ? "queue file shorter than its envelope says" : st.message();
        log::error("%s: reading the message to send: %s", peer_.c_str(), why.c_str());
        sending_body_ = false;
        auto o = session_->on_closed();
        for (auto& r : o.results)
          if (!r.reply || r.stage == smtp::Stage::kDot || r.stage == smtp::Stage::kBdat) {
            r.reply.reset();
            r.status = "4.3.0";
            r.detail = "cannot read the queued message: " + why;
          }
        apply(std::move(o));
        return;
      }
      body_sent_ += raw.size();
      left -= raw.size();
      encoder_.encode(raw, &wire);
    }
    if (left == 0) {
      // The end goes with the last piece: a small message is one "BDAT n LAST".
      encoder_.finish(&wire);
      emit(wire, true);
      sending_body_ = false;
      update_timeouts();  // now the reply to the final dot (RFC 5321 4.5.3.2.6)
      return;
    }
    emit(wire, false);
    wire.clear();
  }
}

void Connection::emit(const std::string& wire, bool last) {
  evbuffer* out = bufferevent_get_output(bev_.get());
  if (bdat_) {
    // RFC 3030 2: "BDAT" SP chunk-size [SP "LAST"] CRLF, then exactly that many octets.
    // The size is the encoded piece's, so a CR LF split over two pieces of the queue file
    // is simply counted in the chunk that ends it. An empty last chunk is "BDAT 0 LAST".
    if (wire.empty() && !last) return;
    std::string cmd = "BDAT " + std::to_string(wire.size()) + (last ? " LAST\r\n" : "\r\n");
    evbuffer_add(out, cmd.data(), cmd.size());
    session_->on_bdat_chunk(last);
  }
  evbuffer_add(out, wire.data(), wire.size());
}

}  // namespace delivery::remote
