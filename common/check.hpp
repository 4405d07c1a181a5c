// MB_CHECK: broken invariants log and abort (Postfix's msg_panic). No limping on: the
// supervisor restarts the process and the spool keeps the state.
#pragma once

namespace common {
[[noreturn]] void check_failed(const char* file, int line, const char* cond, const char* msg);
}

#define MB_CHECK(cond, msg)                                                                     \
  do {                                                                                          \
    if (__builtin_expect(!(cond), 0)) ::common::check_failed(__FILE__, __LINE__, #cond, (msg)); \
  } while (0)
