// Test support for the delivery agents' unit tests (header only, not in any library):
// a temporary directory removed at scope exit, and a real queue file written with
// QueueFileWriter in an O_TMPFILE and re-opened read-only, as the queue manager passes it.
#pragma once

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/check.hpp"
#include "common/io/fdio.hpp"
#include "common/io/unique_fd.hpp"
#include "common/ipc/messages.hpp"
#include "common/spool/queue_file.hpp"
#include "common/spool/queue_id.hpp"

namespace delivery::testing {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/mailbag-test-XXXXXX";
    MB_CHECK(::mkdtemp(tmpl) != nullptr, "mkdtemp");
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

struct Queued {
  common::io::UniqueFd fd;  // read-only, like the fd the queue manager passes
  common::ipc::Deliver deliver;
};

// Writes a queue file for `body` (LF line ends) into `dir` and fills a matching Deliver.
// `protocol` and `client` go into the envelope (the agent tells its own messages by them);
// `junk` is the envelope's junk verdict, set through the writer as filters set it.
inline Queued make_queued(const std::string& dir, const std::string& sender,
                          const std::vector<std::string>& rcpts, const std::string& body,
                          std::uint64_t delivery_id = 1, const std::string& protocol = "ESMTP",
                          const std::string& client = "", bool junk = false) {
  auto dfd = common::io::open_dir(dir);
  MB_CHECK(dfd.is_ok(), "open temp dir");
  common::spool::Envelope env;
  env.queue_id = common::spool::new_queue_id();
  env.arrival = ::time(nullptr);
  env.sender = sender;
  env.recipients = rcpts;
  env.protocol = protocol;
  env.client = client;
  auto w = common::spool::QueueFileWriter::create(dfd->get(), env);
  MB_CHECK(w.is_ok(), "QueueFileWriter::create (needs O_TMPFILE)");
  MB_CHECK(w->append(body).is_ok(), "append");
  if (junk) w->mark_junk();
  MB_CHECK(w->finish().is_ok(), "finish");
  auto p = common::spool::read_envelope(w->fd());
  MB_CHECK(p.is_ok(), "read_envelope of a fresh queue file");
  Queued q;
  std::string self = "/proc/self/fd/" + std::to_string(w->fd());
  q.fd.reset(::open(self.c_str(), O_RDONLY | O_CLOEXEC));
  MB_CHECK(q.fd.valid(), "re-open queue file read-only");
  q.deliver.delivery_id = delivery_id;
  q.deliver.queue_id = env.queue_id;
  q.deliver.arrival = env.arrival;
  q.deliver.sender = sender;
  q.deliver.recipients = rcpts;
  q.deliver.data_offset = p->data_offset;
  q.deliver.data_size = p->env.data_size;
  q.deliver.data_lines = p->env.data_lines;
  return q;
}

inline std::vector<std::string> list_dir(const std::string& path) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(path, ec)) out.push_back(e.path().filename());
  return out;
}

}  // namespace delivery::testing
