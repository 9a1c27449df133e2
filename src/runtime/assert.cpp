// Where failed invariants end up: print the location to stderr and abort.
#include "runtime/assert.h"

#include <cstdio>
#include <cstdlib>

namespace trit::detail {

void assert_failed(const char* expr, const char* file, int line, const char* message) {
  std::fprintf(stderr, "trit: internal error: assertion '%s' failed at %s:%d%s%s\n", expr, file, line,
               message ? ": " : "", message ? message : "");
  std::fflush(stderr);
  std::abort();
}

}  // namespace trit::detail
