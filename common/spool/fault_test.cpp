// Unit tests for the fault-injection seam (common/spool/fault.hpp). Rules are process
// wide, so each case arms them in a forked child and reports through its exit status.
#include "common/spool/fault.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <functional>
#include <string>

#include "common/io/unique_fd.hpp"
#include "common/spool/queue_file.hpp"

namespace fault = common::spool::fault;

namespace {

// Runs fn in a child with MAILBAG_FAULTS=spec; returns the child's wait status.
int in_child(const char* spec, const std::function<int()>& fn) {
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // Keep the "fault injection armed" warnings out of the test output.
    int devnull = open("/dev/null", O_WRONLY);
    if (devnull >= 0) dup2(devnull, 2);
    if (spec)
      setenv("MAILBAG_FAULTS", spec, 1);
    else
      unsetenv("MAILBAG_FAULTS");
    fault::init_from_env();
    _exit(fn());
  }
  int st = 0;
  REQUIRE(waitpid(pid, &st, 0) == pid);
  return st;
}

int exit_code(int st) { return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0); }

}  // namespace

TEST_CASE("no MAILBAG_FAULTS, no faults") {
  CHECK_FALSE(fault::hit("queue_file.write"));  // never armed in this process
  CHECK(exit_code(in_child(nullptr, [] { return fault::hit("a") || fault::hit("b") ? 1 : 0; })) == 0);
  CHECK(exit_code(in_child("", [] { return fault::hit("a") ? 1 : 0; })) == 0);
}

TEST_CASE("every hit fails without @N") {
  CHECK(exit_code(in_child("a", [] {
          for (int i = 0; i < 5; ++i)
            if (!fault::hit("a")) return 1;
          return fault::hit("b") || fault::hit("aa") || fault::hit("") ? 2 : 0;
        })) == 0);
  CHECK(exit_code(in_child("a:fail", [] { return fault::hit("a") ? 0 : 1; })) == 0);
}

TEST_CASE("@N fails only the Nth hit") {
  CHECK(exit_code(in_child("a@3", [] {
          bool r[5];
          for (bool& b : r) b = fault::hit("a");
          return (!r[0] && !r[1] && r[2] && !r[3] && !r[4]) ? 0 : 1;
        })) == 0);
}

TEST_CASE("several rules, separated by commas") {
  CHECK(exit_code(in_child("a@2,,b,c@1:fail", [] {
          if (fault::hit("a")) return 1;
          if (!fault::hit("a")) return 2;
          if (!fault::hit("b") || !fault::hit("b")) return 3;
          if (!fault::hit("c")) return 4;
          if (fault::hit("c")) return 5;
          if (fault::hit("d")) return 6;
          return 0;
        })) == 0);
}

TEST_CASE(":crash kills the process on the spot") {
  int st = in_child("a@2:crash", [] {
    if (fault::hit("a")) return 1;
    fault::hit("a");  // dies here
    return 2;
  });
  REQUIRE(WIFSIGNALED(st));
  CHECK(WTERMSIG(st) == SIGKILL);
}

TEST_CASE("queue_file.write fails QueueFileWriter with EIO") {
  CHECK(exit_code(in_child("queue_file.write", [] {
          common::io::UniqueFd dir(open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
          common::spool::Envelope e;
          e.queue_id = "0123456789ABCDEF";
          e.sender = "";
          e.recipients = {"a@example.org"};
          auto w = common::spool::QueueFileWriter::create(dir.get(), e);
          if (!w) return 1;
          if (!w->append("x\n")) return 2;  // buffered: nothing written yet
          common::Status st = w->finish();
          if (st.is_ok()) return 3;
          return st.err() == EIO ? 0 : 4;
        })) == 0);
}
