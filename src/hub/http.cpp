// Http over libcurl's easy interface. Callbacks run inside curl_easy_perform; exceptions are carried
// out of the C code in an exception_ptr and rethrown after it returns.
#include "hub/http.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <exception>
#include <memory>
#include <mutex>

#include "runtime/error.h"

namespace trit::hub {

namespace {

constexpr size_t kMaxErrorBody = 1024;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
  CURL* curl = nullptr;
  HttpResponse response;
  bool started = false;
  std::string* body = nullptr;  // get(): everything goes here
  const std::function<void(const HttpResponse&)>* on_start = nullptr;
  const std::function<void(std::span<const uint8_t>)>* on_data = nullptr;
  std::exception_ptr error;
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const std::string line(data, size * n);
  if (line.rfind("HTTP/", 0) == 0) {
    t->response.headers.clear();  // a new response (after a redirect or a 100 Continue)
  } else if (const auto colon = line.find(':'); colon != std::string::npos) {
    t->response.headers[lower(trim(line.substr(0, colon)))] = trim(line.substr(colon + 1));
  }
  return size * n;
}

size_t on_write(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t bytes = size * n;
  try {
    if (!t->started) {
      t->started = true;
      curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &t->response.status);
      if (t->response.status < 400 && t->on_start) (*t->on_start)(t->response);
    }
    if (t->response.status >= 400) {
      const size_t keep = std::min(bytes, kMaxErrorBody - std::min(kMaxErrorBody, t->response.error_body.size()));
      t->response.error_body.append(data, keep);
    } else if (t->body) {
      t->body->append(data, bytes);
    } else if (t->on_data) {
      (*t->on_data)(std::span(reinterpret_cast<const uint8_t*>(data), bytes));
    }
  } catch (...) {
    t->error = std::current_exception();
    return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
  }
  return bytes;
}

bool is_unreachable(CURLcode code) {
  return code == CURLE_COULDNT_RESOLVE_HOST || code == CURLE_COULDNT_RESOLVE_PROXY || code == CURLE_COULDNT_CONNECT;
}

HttpResponse perform(const std::string& url, const std::string& token, uint64_t range_from, Transfer& t,
                     TransferFailure& failure) {
  global_init();
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
  if (!curl) trit::fail("cannot start an HTTP client (curl_easy_init failed)");
  t.curl = curl.get();
  char error[CURL_ERROR_SIZE] = {};
  curl_slist* headers = nullptr;
  const std::string auth = "Authorization: Bearer " + token;
  if (!token.empty()) headers = curl_slist_append(headers, auth.c_str());
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> header_list(headers, &curl_slist_free_all);
  const std::string range = fmt::format("{}-", range_from);

  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "trit/0.1");
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
  // A stalled transfer (under 1 byte/s for a minute) ends as an interrupted download, resumable.
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
  if (header_list) curl_easy_setopt(c, CURLOPT_HTTPHEADER, header_list.get());
  if (range_from > 0) curl_easy_setopt(c, CURLOPT_RANGE, range.c_str());
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);

  const CURLcode code = curl_easy_perform(c);
  if (t.error) std::rethrow_exception(t.error);
  if (!t.started) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &t.response.status);
  if (code != CURLE_OK) {
    const std::string detail = error[0] ? std::string(error) : std::string(curl_easy_strerror(code));
    if (is_unreachable(code) || (code == CURLE_OPERATION_TIMEDOUT && t.response.status == 0))
      throw Error(unreachable_message(url, detail));
    failure.detail = detail;
  } else if (!t.started && t.response.status < 400 && t.on_start) {
    (*t.on_start)(t.response);  // an empty body
  }
  return t.response;
}

}  // namespace

Http::Http(std::string token) : token_(std::move(token)) {}

HttpResponse Http::get(const std::string& url, std::string& body) {
  Transfer t;
  t.body = &body;
  TransferFailure failure;
  HttpResponse r = perform(url, token_, 0, t, failure);
  if (!failure.detail.empty()) trit::fail("{}: {}", url, failure.detail);
  return r;
}

HttpResponse Http::get_stream(const std::string& url, uint64_t range_from,
                              const std::function<void(const HttpResponse&)>& on_start,
                              const std::function<void(std::span<const uint8_t>)>& on_data, TransferFailure& failure) {
  Transfer t;
  t.on_start = &on_start;
  t.on_data = &on_data;
  return perform(url, token_, range_from, t, failure);
}

std::string url_host(const std::string& url) {
  size_t start = url.find("://");
  start = start == std::string::npos ? 0 : start + 3;
  const size_t end = url.find_first_of("/?#", start);
  std::string host = url.substr(start, end == std::string::npos ? std::string::npos : end - start);
  if (const auto at = host.rfind('@'); at != std::string::npos) host = host.substr(at + 1);  // user:pass@
  return host;
}

std::string unreachable_message(const std::string& url, const std::string& detail) {
  return fmt::format("cannot reach {}: {} (offline? set HF_ENDPOINT for a mirror)", url_host(url), detail);
}

std::string url_encode(const std::string& s, bool keep_slash) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/'))
      out += static_cast<char>(c);
    else
      out += fmt::format("%{:02X}", c);
  }
  return out;
}

}  // namespace trit::hub
