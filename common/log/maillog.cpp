// Implementation of the typed delivery events. Peer-supplied text (addresses, replies)
// goes through log::printable so one event stays one line.
#include "common/log/maillog.hpp"

#include <string>

#include "common/log/log.hpp"

namespace common::maillog {
namespace {

std::string p(std::string_view s) { return log::printable(s, 400); }

void status_line(const char* status, std::string_view id, std::string_view rcpt, std::string_view relay,
                 double delay, std::string_view detail) {
  log::info("%s: to=<%s>, relay=%s, delay=%.2f, status=%s (%s)", p(id).c_str(), p(rcpt).c_str(),
            p(relay).c_str(), delay, status, p(detail).c_str());
}

}  // namespace

void received(std::string_view id, std::string_view sender, unsigned long long size, std::size_t nrcpt,
              std::string_view client) {
  log::info("%s: from=<%s>, size=%llu, nrcpt=%zu, client=%s", p(id).c_str(), p(sender).c_str(), size, nrcpt,
            p(client).c_str());
}

void queued(std::string_view id, std::string_view sender, unsigned long long size, std::size_t nrcpt,
            std::string_view origin) {
  log::info("%s: queued from=<%s>, size=%llu, nrcpt=%zu, origin=%s", p(id).c_str(), p(sender).c_str(), size,
            nrcpt, p(origin).c_str());
}

void delivered(std::string_view id, std::string_view rcpt, std::string_view relay, double d,
               std::string_view detail) {
  status_line("sent", id, rcpt, relay, d, detail);
}
void deferred(std::string_view id, std::string_view rcpt, std::string_view relay, double d,
              std::string_view detail) {
  status_line("deferred", id, rcpt, relay, d, detail);
}
void bounced(std::string_view id, std::string_view rcpt, std::string_view relay, double d,
             std::string_view detail) {
  status_line("bounced", id, rcpt, relay, d, detail);
}
void removed(std::string_view id) { log::info("%s: removed", p(id).c_str()); }

}  // namespace common::maillog
