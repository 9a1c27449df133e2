// Calls a generic callable with the number of tokens (1..kMax) as a compile-time constant, so that a
// kernel templated on its token count (register arrays indexed at compile time) is picked at run time.
#pragma once

#include <type_traits>

namespace trit::cuda {

// fn(std::integral_constant<int, n>) for 1 <= n <= kMax (n is clamped to that range).
template <int kMax, typename Fn>
void with_token_count(int n, Fn&& fn) {
  if constexpr (kMax > 1) {
    if (n < kMax) return with_token_count<kMax - 1>(n, fn);
  }
  fn(std::integral_constant<int, kMax>{});
}

}  // namespace trit::cuda
