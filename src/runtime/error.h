// Errors from bad input (files, flags, requests): an exception whose message names what was wrong and where.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>
#include <utility>

namespace trit {

// Thrown for input from outside that cannot be used. The message is complete and user-facing:
// "model.gguf: tensor 'blk.3.ffn_up.weight' ends at byte 912 MiB, past the end of the file (640 MiB)".
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Throws trit::Error with a fmt-formatted message.
template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace trit
