// Digest over OpenSSL's EVP interface.
#include "hub/digest.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include "runtime/assert.h"

namespace trit::hub {

struct Digest::Ctx {
  EVP_MD_CTX* md = nullptr;
  ~Ctx() { EVP_MD_CTX_free(md); }
};

Digest::Digest(Algorithm algorithm) : algorithm_(algorithm), ctx_(std::make_unique<Ctx>()) {
  ctx_->md = EVP_MD_CTX_new();
  TRIT_ASSERT(ctx_->md != nullptr);
  reset();
}

Digest::~Digest() = default;

void Digest::reset() {
  const EVP_MD* md = algorithm_ == Algorithm::kSha256 ? EVP_sha256() : EVP_sha1();
  TRIT_ASSERT(EVP_DigestInit_ex(ctx_->md, md, nullptr) == 1);
}

void Digest::update(std::span<const uint8_t> bytes) {
  if (!bytes.empty()) TRIT_ASSERT(EVP_DigestUpdate(ctx_->md, bytes.data(), bytes.size()) == 1);
}

void Digest::update(const std::string& text) {
  update(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

std::string Digest::hex() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  TRIT_ASSERT(EVP_DigestFinal_ex(ctx_->md, out, &n) == 1);
  std::string s;
  s.reserve(2 * n);
  for (unsigned int i = 0; i < n; ++i) s += fmt::format("{:02x}", out[i]);
  reset();
  return s;
}

std::string sha256_hex(std::span<const uint8_t> bytes) {
  Digest d(Digest::Algorithm::kSha256);
  d.update(bytes);
  return d.hex();
}

std::string git_blob_header(uint64_t n_bytes) {
  std::string h = fmt::format("blob {}", n_bytes);
  h.push_back('\0');
  return h;
}

}  // namespace trit::hub
