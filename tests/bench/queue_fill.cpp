// `make bench`, part queue-1m: writes a deferred queue of N messages straight into a
// stopped Mailbag's spool, through the project's own code, as the queue manager would
// have left it after every first attempt failed: one queue file per message
// (format_envelope, spool/queue/<id>, mode 0660, owned as the queue manager owns them)
// and one state record per message in spool/state/queue.mdb (StateDb, the record the
// queue manager writes at a deferral: attempts 1, the recipient's 4.4.1 and its text,
// the next try an hour away). Recipients spread over 100 domains. One syncfs at the end.
// Building 1,000,000 messages through SMTP takes most of an hour on a small machine;
// this takes a minute or two, and the result is the same bytes.
// usage: queue_fill SPOOL N SIZE UID GID
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

#include "common/spool/queue_file.hpp"
#include "queue-manager/message.hpp"
#include "queue-manager/state_db.hpp"

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: queue_fill SPOOL N SIZE UID GID\n");
    return 2;
  }
  std::string spool = argv[1];
  long n = std::atol(argv[2]);
  long size = std::atol(argv[3]);
  uid_t uid = static_cast<uid_t>(std::atol(argv[4]));
  gid_t gid = static_cast<gid_t>(std::atol(argv[5]));
  int qdir = ::open((spool + "/queue").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (qdir < 0) {
    std::perror("open queue dir");
    return 1;
  }
  auto db = qmgr::StateDb::open(spool + "/state/queue.mdb");
  if (!db) {
    std::fprintf(stderr, "state db: %s\n", db.message().c_str());
    return 1;
  }
  std::string body;
  const std::string line = "The quick brown fox jumps over the lazy dog, again and again, for the bench.\n";
  std::string head = "From: <sender@example.net>\nSubject: deferred bench message\n\n";
  while (static_cast<long>(head.size() + body.size() + line.size()) <= size) body += line;
  std::time_t now = std::time(nullptr);
  unsigned long long t0_us = static_cast<unsigned long long>(now - 7200) * 1000000ull;
  for (long i = 0; i < n; ++i) {
    char id[32];
    std::snprintf(id, sizeof id, "%013llX%03X",
                  (t0_us + static_cast<unsigned long long>(i)) & 0xFFFFFFFFFFFFFull, 0);
    char rcpt[64];
    std::snprintf(rcpt, sizeof rcpt, "r%ld@d%03ld.out.test", i, i % 100);
    std::string data = head + body;
    common::spool::Envelope env;
    env.queue_id = id;
    env.arrival = now - 7200;
    env.protocol = "ESMTP";
    env.client = "client.example.net [127.1.2.3]";
    env.sender = "sender@example.net";
    env.recipients = {rcpt};
    env.data_size = data.size();
    env.data_lines = 0;
    for (char c : data) env.data_lines += c == '\n';
    std::string text = common::spool::format_envelope(env);
    std::uint64_t offset = text.size();
    text += data;
    int fd = ::openat(qdir, id, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0660);
    if (fd < 0 || ::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
        ::fchown(fd, uid, gid) != 0 || ::fchmod(fd, 0660) != 0) {
      std::perror(id);
      return 1;
    }
    ::close(fd);
    common::spool::ParsedEnvelope pe;
    pe.env = env;
    pe.data_offset = offset;
    auto m = qmgr::from_envelope(pe);
    m->attempts = 1;
    m->next_try = now + 3600;
    auto& r = m->rcpts[0];
    r.attempts = 1;
    r.status = "4.4.1";
    char why[128];
    std::snprintf(why, sizeof why, "connect to mx.d%03ld.out.test[127.2.0.%ld]:25: Connection refused",
                  i % 100, i % 100 + 1);
    r.text = why;
    (*db)->stage_put(*m);
    if ((i + 1) % 20000 == 0 || i + 1 == n) {
      if (auto st = (*db)->commit(); !st) {
        std::fprintf(stderr, "state db commit: %s\n", st.message().c_str());
        return 1;
      }
    }
  }
  ::syncfs(qdir);
  ::close(qdir);
  std::printf("{\"messages\": %ld}\n", n);
  return 0;
}
