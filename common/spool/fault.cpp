// Implementation of the fault-injection seam (see fault.hpp).
#include "common/spool/fault.hpp"

#include <csignal>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/log/log.hpp"

namespace common::spool::fault {
namespace {

struct Rule {
  std::string point;
  long nth = 0;  // 0: every hit
  bool crash = false;
  long seen = 0;
};

bool g_enabled = false;
std::vector<Rule>& rules() {
  static std::vector<Rule> r;
  return r;
}

}  // namespace

void init_from_env() {
  const char* env = std::getenv("MAILBAG_FAULTS");
  if (!env || !*env) return;
  std::string spec = env;
  std::size_t pos = 0;
  while (pos <= spec.size()) {
    std::size_t comma = spec.find(',', pos);
    std::string item = spec.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    pos = comma == std::string::npos ? spec.size() + 1 : comma + 1;
    if (item.empty()) continue;
    Rule r;
    std::size_t colon = item.find(':');
    if (colon != std::string::npos) {
      r.crash = item.substr(colon + 1) == "crash";
      item.resize(colon);
    }
    std::size_t at = item.find('@');
    if (at != std::string::npos) {
      r.nth = std::strtol(item.c_str() + at + 1, nullptr, 10);
      item.resize(at);
    }
    r.point = item;
    log::warn("fault injection armed: %s%s", r.point.c_str(), r.crash ? " (crash)" : " (fail)");
    rules().push_back(r);
  }
  g_enabled = !rules().empty();
}

bool hit(const char* point) {
  if (__builtin_expect(!g_enabled, 1)) return false;
  for (auto& r : rules()) {
    if (r.point != point) continue;
    ++r.seen;
    if (r.nth != 0 && r.seen != r.nth) continue;
    if (r.crash) {
      log::warn("fault injection: crashing at %s", point);
      std::raise(SIGKILL);
    }
    log::warn("fault injection: failing %s", point);
    return true;
  }
  return false;
}

}  // namespace common::spool::fault
