// DKIM signing cost per message (common/dkim/sign.hpp), RSA 2048 and Ed25519: one pass
// over the message (canonicalisation and body hash) plus one signature, as the signer
// does for each delivery. Built and run by bench.py (part "dkim"); prints JSON.
//   dkim_bench [MESSAGES] [MESSAGE_BYTES]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/dkim/sign.hpp"

namespace cd = common::dkim;

int main(int argc, char** argv) {
  int n = argc > 1 ? std::atoi(argv[1]) : 2000;
  std::size_t size = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 4096;
  std::string msg =
      "From: Alice <alice@example.org>\nTo: bob@example.net\nSubject: benchmark\n"
      "Date: Mon, 7 Dec 2026 06:00:00 +0000\nMessage-ID: <b@example.org>\nMIME-Version: 1.0\n\n";
  while (msg.size() < size) msg += "The quick brown fox jumps over the lazy dog, again and  again.\n";
  std::printf("{\"message_bytes\": %zu, \"messages\": %d", msg.size(), n);
  for (cd::Algorithm a : {cd::Algorithm::kRsa, cd::Algorithm::kEd25519}) {
    auto key = cd::generate_key(a);
    if (!key) return 1;
    auto start = std::chrono::steady_clock::now();
    std::size_t total = 0;
    for (int i = 0; i < n; ++i) {
      cd::MessageSigner m;
      m.feed(msg);
      m.finish();
      auto f = m.sign({key->get(), a, "example.org", "bench"}, 1796623200);
      if (!f) return 1;
      total += f->size();
    }
    double us =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() / n;
    std::printf(", \"%s_us_per_message\": %.1f", cd::signature_algorithm(a), us);
    if (total == 0) return 1;
  }
  std::printf("}\n");
  return 0;
}
