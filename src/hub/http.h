// A small blocking HTTP GET client over libcurl, for the hub: redirects followed, an optional bearer
// token, bodies either in memory (JSON listings) or streamed to a callback (file downloads, with Range).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>

namespace trit::hub {

struct HttpResponse {
  long status = 0;                             // of the final response, after redirects
  std::map<std::string, std::string> headers;  // of the final response; names in lower case
  std::string error_body;                      // the first KiB of a >= 400 response's body
};

// What a transfer can end in besides an HTTP status.
struct TransferFailure {
  bool unreachable = false;  // no connection at all (DNS, refused, connect timeout): offline?
  std::string detail;        // curl's message
};

class Http {
 public:
  // `token`: sent as "Authorization: Bearer <token>" when non-empty (curl does not forward it to
  // another host on a redirect).
  explicit Http(std::string token = "");

  // GET into `body`. Throws trit::Error "cannot reach <host>: ..." (see unreachable_message) when
  // the host cannot be reached, and for other transport failures.
  HttpResponse get(const std::string& url, std::string& body);

  // GET, streaming the body of a 2xx response to `on_data`, after `on_start(response)` has seen its
  // status and headers (once per transfer, before any data). `range_from` > 0 asks for the bytes from
  // there on (Range: bytes=N-); the server may still answer 200 with everything. Exceptions thrown by
  // the callbacks abort the transfer and propagate. A transport failure after the connection was made
  // (an interrupted download) is reported in `failure` rather than thrown; an unreachable host throws.
  HttpResponse get_stream(const std::string& url, uint64_t range_from,
                          const std::function<void(const HttpResponse&)>& on_start,
                          const std::function<void(std::span<const uint8_t>)>& on_data, TransferFailure& failure);

 private:
  std::string token_;
};

// "https://huggingface.co/x" -> "huggingface.co" (with the port when there is one).
std::string url_host(const std::string& url);
// The offline message: "cannot reach <host>: <detail> (offline? set HF_ENDPOINT for a mirror)".
std::string unreachable_message(const std::string& url, const std::string& detail);
// Percent-encodes everything but unreserved characters and, when keep_slash, '/'.
std::string url_encode(const std::string& s, bool keep_slash);

}  // namespace trit::hub
