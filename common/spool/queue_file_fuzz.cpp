// libFuzzer target for the queue file envelope (common/spool/queue_file.hpp), which the
// queue manager reads from files written by less-privileged smtpd and sendmail. What
// parses must format back to an envelope that parses to the same values.
// Seeds: tests/fuzz/corpus/queue_file_fuzz/. Replayed by `make unit`, fuzzed by `make fuzz`.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/spool/queue_file.hpp"
#include "common/spool/queue_id.hpp"

namespace spool = common::spool;

namespace {

void require(bool cond) {
  if (!cond) std::abort();
}

bool same(const spool::Envelope& a, const spool::Envelope& b) {
  return a.queue_id == b.queue_id && a.arrival == b.arrival && a.protocol == b.protocol &&
         a.client == b.client && a.auth_user == b.auth_user && a.body_8bit == b.body_8bit &&
         a.smtputf8 == b.smtputf8 && a.sender == b.sender && a.recipients == b.recipients &&
         a.data_size == b.data_size && a.data_lines == b.data_lines;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto p = spool::parse_envelope(in);
  if (!p) return 0;
  require(p->data_offset <= size);
  require(p->data_offset >= 2 && in.substr(p->data_offset - 2, 2) == "E\n");
  require(spool::is_queue_id(p->env.queue_id));
  require(!p->env.recipients.empty());
  std::string text = spool::format_envelope(p->env);
  auto again = spool::parse_envelope(text);
  require(again.is_ok());
  require(same(again->env, p->env));
  require(again->data_offset == text.size());
  require(spool::format_envelope(again->env) == text);
  return 0;
}
