// An HTTP error for the client: status, OpenAI error type and a message naming what was wrong.
// Rendered as {"error": {"code": status, "message": ..., "type": ...}}, the shape both the OpenAI API
// and llama-server use.
#pragma once

#include <stdexcept>
#include <string>

namespace trit::server {

struct ApiError : std::runtime_error {
  ApiError(int status, std::string type, const std::string& message)
      : std::runtime_error(message), status(status), type(std::move(type)) {}
  int status;
  std::string type;  // invalid_request_error, authentication_error, not_found_error, unavailable_error, ...
};

inline ApiError bad_request(const std::string& message) { return {400, "invalid_request_error", message}; }

}  // namespace trit::server
