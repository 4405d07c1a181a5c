// BDAT (RFC 3030 2, CHUNKING): the message text in counted chunks instead of DATA's
// dot-terminated stream. Part of the Session (session.hpp). UNTRUSTED: network input.
//
// The octets of a chunk are always read, whatever the reply will be, since the framing
// of the connection depends on it: RFC 3030 4.2 asks a server that offers PIPELINING to
// "accept and discard additional BDAT chunks already in the pipeline after the failed
// BDAT". Only a chunk size that cannot be read loses the framing; the connection is then
// closed, because whatever follows could otherwise be taken for commands.
#include <algorithm>

#include "common/log/log.hpp"
#include "smtpd/session.hpp"

namespace smtpd {

namespace log = common::log;

void Session::cmd_bdat(const Command& c) {
  auto p = parse_bdat(c.arg);
  if (!p.ok()) {
    log::info("reject: BDAT from %s%s: unreadable chunk size, closing",
              log::printable(facts_.helo, 64).c_str(), client_.literal.c_str());
    return close_with(make_reply(501, "5.5.4", "Syntax: BDAT chunk-size [LAST], closing connection"));
  }
  chunk_left_ = chunk_size_ = p.value->size;
  chunk_last_ = p.value->last;
  chunk_discard_.reset();
  if (!tx_) {
    chunk_discard_ = make_reply(503, "5.5.1", "Error: need MAIL command");
  } else if (tx_->rcpts.empty()) {
    chunk_discard_ = make_reply(503, "5.5.1", "Error: need RCPT command");
  } else if (!tx_->bdat) {  // the first chunk of the message
    if (auto refused = begin_message()) {
      chunk_discard_ = *refused;
      reset_transaction();
    } else {
      tx_->bdat = true;
      tx_->reader.set_chunked();
    }
  }
  phase_ = Phase::kBdat;
}

// Takes the octets of the chunk that are in the input; the chunk ends when all are read.
void Session::feed_chunk() {
  std::string_view rest(in_.data() + in_pos_, in_.size() - in_pos_);
  std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(rest.size(), chunk_left_));
  if (n > 0) {
    if (!chunk_discard_) {
      chunk_.clear();
      tx_->reader.feed(rest.substr(0, n), &chunk_);
      store_text();
    }
    in_pos_ += n;
    chunk_left_ -= n;
  }
  if (chunk_left_ == 0) chunk_read();
}

void Session::chunk_read() {
  phase_ = Phase::kCommand;
  if (chunk_discard_) {
    Reply r = std::move(*chunk_discard_);
    chunk_discard_.reset();
    log::info("reject: BDAT from %s%s: %d %s %s", log::printable(facts_.helo, 64).c_str(),
              client_.literal.c_str(), r.code, r.status.c_str(), r.text.c_str());
    return send(r);
  }
  Transaction& t = *tx_;
  if (chunk_last_) {
    chunk_.clear();
    t.reader.end_chunks(&chunk_);
    store_text();
    return finish_data();  // the reply to the LAST chunk is the reply to the message
  }
  // A message already refused (over the size limit, a bare CR, a write error) fails now:
  // the client need not send the rest, and later chunks it pipelined are discarded with
  // 503 since the transaction is gone (RFC 3030 4.2).
  Reply v = data_verdict();
  if (v.is_error()) {
    log::info("%s: reject: BDAT from %s: %d %s %s", t.queue_id.c_str(), log::printable(t.client).c_str(),
              v.code, v.status.c_str(), v.text.c_str());
    reset_transaction();
    return send(v);
  }
  send(make_reply(250, "2.0.0", "Ok: " + std::to_string(chunk_size_) + " octets received"));
}

}  // namespace smtpd
