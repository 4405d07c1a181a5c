// One Check request answered, on a worker thread of the checks process: the DNS lists
// (with a per-address cache shared by the threads), SPF, DKIM and DMARC as configured.
// Everything here blocks on DNS; server.cpp keeps it off the event loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/checks/dnsbl.hpp"
#include "common/config/config.hpp"
#include "common/ipc/messages.hpp"
#include "smtpd/checks/dns.hpp"
#include "smtpd/checks/psl.hpp"

namespace checks {

struct Settings {
  std::vector<common::checks::DnsList> lists;  // blocklists and allowlists
  int threshold = 1;
  bool spf = false, dkim = false, dmarc = false;
};

// From the configuration (the lists were validated by the config parser).
Settings settings_from(const common::config::Config& cfg);

// DNS list verdicts per client address, for five minutes (RFC 5782 answers are cheap to
// repeat but a busy client connects often).
class DnsblCache {
 public:
  bool get(const std::string& ip, common::ipc::CheckDone* out);
  void put(const std::string& ip, const common::ipc::CheckDone& v);
  void clear();  // the lists changed (a reload)

 private:
  struct Entry {
    std::chrono::steady_clock::time_point expires;
    common::ipc::CheckDone verdict;
  };
  std::mutex mu_;
  std::unordered_map<std::string, Entry> map_;
};

struct Context {
  const Settings& settings;
  Dns& dns;
  const PublicSuffixList& psl;
  DnsblCache& cache;
};

// `fd`: the passed queue file at the data stage (-1 otherwise).
common::ipc::CheckDone run_check(Context& ctx, const common::ipc::Check& req, int fd);

}  // namespace checks
