// Implementation of mailctl's queue commands (see queue.hpp). The listing and the
// commands go through the queue manager, which owns the queue; only `show` opens a
// queue file, read-only, by a name checked to be a queue id (no path tricks).
// UNTRUSTED: queue file contents came from clients; everything printed goes through
// terminal_safe() in queue_format.cpp.
#include "mailctl/queue.hpp"

#include <fcntl.h>
#include <sysexits.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "common/io/fdio.hpp"
#include "common/io/unique_fd.hpp"
#include "common/spool/queue_file.hpp"
#include "common/spool/queue_id.hpp"
#include "mailctl/args.hpp"
#include "mailctl/control.hpp"
#include "mailctl/queue_format.hpp"

namespace mailctl {

namespace {

// How much of the message `show` reads to find the header.
constexpr std::size_t kHeaderRead = 64 * 1024;

bool check_id(Context& ctx, const std::string& id) {
  if (common::spool::is_queue_id(id)) return true;
  complain(ctx, "not a queue id: '" + terminal_safe(id) + "' (16 hex digits, as 'mailctl queue list' shows)");
  return false;
}

}  // namespace

int cmd_queue_list(Context& ctx) {
  auto c = ControlClient::connect(ctx.layout().control_socket());
  if (!c) {
    complain(ctx, c.message());
    return control_exit_code(c.status());
  }
  // Printed page by page as the queue manager sends them: the first lines of a large
  // queue appear at once, and mailctl never holds the whole listing.
  MailqWriter w;
  auto st = c->list_pages("", [&](std::vector<common::ipc::QueueEntry>& page) {
    std::string text;
    for (const auto& e : page) text += w.add(e);
    std::fputs(text.c_str(), ctx.out);
    std::fflush(ctx.out);
  });
  if (!st) {
    complain(ctx, st.message());
    return control_exit_code(st);
  }
  std::fputs(w.end().c_str(), ctx.out);
  return kExitOk;
}

int cmd_queue_show(Context& ctx, const std::string& id) {
  if (!check_id(ctx, id)) return EX_USAGE;
  std::string path = ctx.layout().queue_file(id);
  common::io::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC));
  if (!fd) {
    int e = errno;
    if (e == ENOENT) {
      complain(ctx, "no message " + id + " in the queue");
      return kExitRefused;
    }
    complain(ctx,
             "cannot open " + path + ": " + std::strerror(e) + (e == EACCES ? " (run mailctl as root)" : ""));
    return e == EACCES ? EX_NOPERM : EX_IOERR;
  }
  auto pe = common::spool::read_envelope(fd.get());
  if (!pe) {
    complain(ctx, path + ": damaged queue file: " + pe.message());
    return EX_IOERR;
  }
  ShowInput in;
  in.env = pe->env;
  in.now = static_cast<std::int64_t>(std::time(nullptr));
  std::string head;
  std::size_t want = pe->env.data_size < kHeaderRead ? pe->env.data_size : kHeaderRead;
  if (auto st = common::io::pread_upto(fd.get(), &head, want, static_cast<off_t>(pe->data_offset)); !st) {
    complain(ctx, path + ": " + st.message());
    return EX_IOERR;
  }
  bool complete = true;
  in.header = std::string(header_block(head, &complete));
  in.header_cut = !complete && head.size() < pe->env.data_size;

  // The delivery state is the queue manager's; without it the envelope still tells a lot.
  auto c = ControlClient::connect(ctx.layout().control_socket());
  if (!c) {
    in.no_state = c.message();
  } else if (auto entries = c->list(id); !entries) {
    in.no_state = entries.message();
  } else if (entries->empty()) {
    in.no_state = "the queue manager does not list it (it is being taken in or removed)";
  } else {
    in.state = entries->front();
  }
  std::fputs(format_show(in).c_str(), ctx.out);
  return kExitOk;
}

int cmd_queue_action(Context& ctx, const std::string& command, const std::string& id) {
  if (!(command == "flush" && id.empty()) && !check_id(ctx, id)) return EX_USAGE;
  auto c = ControlClient::connect(ctx.layout().control_socket());
  if (!c) {
    complain(ctx, c.message());
    return control_exit_code(c.status());
  }
  auto rep = c->command(command, id);
  if (!rep) {
    complain(ctx, rep.message());
    return control_exit_code(rep.status());
  }
  if (!rep->ok) {
    complain(ctx, terminal_safe(rep->text));
    // count 0: the message was not found; otherwise it was, and acting on it failed.
    return rep->count == 0 ? kExitRefused : EX_IOERR;
  }
  std::fprintf(ctx.out, "%s\n", terminal_safe(rep->text).c_str());
  return kExitOk;
}

}  // namespace mailctl
