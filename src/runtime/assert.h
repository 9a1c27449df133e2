// Internal invariants: a failed TRIT_ASSERT is a bug in trit, never a user error; it aborts with its location.
#pragma once

namespace trit::detail {
[[noreturn]] void assert_failed(const char* expr, const char* file, int line, const char* message);
}  // namespace trit::detail

#define TRIT_ASSERT(cond) \
  ((cond) ? static_cast<void>(0) : ::trit::detail::assert_failed(#cond, __FILE__, __LINE__, nullptr))
#define TRIT_ASSERT_MSG(cond, msg) \
  ((cond) ? static_cast<void>(0) : ::trit::detail::assert_failed(#cond, __FILE__, __LINE__, (msg)))
