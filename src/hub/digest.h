// Streaming message digests (OpenSSL EVP) for checking downloads: SHA-256 (the hub's LFS oid) and
// git's blob SHA-1 (the oid of small files kept in git itself).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace trit::hub {

class Digest {
 public:
  enum class Algorithm { kSha256, kSha1 };
  explicit Digest(Algorithm algorithm);
  ~Digest();
  Digest(const Digest&) = delete;
  Digest& operator=(const Digest&) = delete;

  void reset();
  void update(std::span<const uint8_t> bytes);
  void update(const std::string& text);
  // Lower-case hex of the digest of everything since construction / reset(); ends this round.
  std::string hex();

 private:
  Algorithm algorithm_;
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

// SHA-256 of a byte string, lower-case hex (tests).
std::string sha256_hex(std::span<const uint8_t> bytes);
// The prefix git hashes before a blob's content: "blob <n_bytes>\0".
std::string git_blob_header(uint64_t n_bytes);

}  // namespace trit::hub
