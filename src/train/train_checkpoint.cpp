// Checkpoint file layout (little-endian): "TRITCKPT", u32 version, the ModelConfig (7 x i64, 2 x f32),
// seed u64, step i64, adam_steps i64, data_hash u64, n_params u64, then params, m, v (n_params f32 each).
#include "train/train_checkpoint.h"

#include <cstdio>
#include <cstring>
#include <filesystem>

#include "runtime/error.h"

namespace trit::train {
namespace {

constexpr char kMagic[8] = {'T', 'R', 'I', 'T', 'C', 'K', 'P', 'T'};
constexpr uint32_t kVersion = 1;

struct File {
  std::FILE* f = nullptr;
  ~File() {
    if (f) std::fclose(f);
  }
};

}  // namespace

void save_checkpoint(const std::string& path, const Checkpoint& c) {
  const std::string tmp = path + ".tmp";
  File file;
  file.f = std::fopen(tmp.c_str(), "wb");
  if (!file.f) trit::fail("{}: cannot write the checkpoint", tmp);
  bool ok = true;
  auto put = [&](const void* p, size_t n) { ok = ok && std::fwrite(p, 1, n, file.f) == n; };
  auto put_i64 = [&](int64_t v) { put(&v, sizeof v); };
  put(kMagic, sizeof kMagic);
  put(&kVersion, sizeof kVersion);
  const ModelConfig& m = c.config;
  for (int64_t v : {m.n_vocab, m.n_embd, m.n_layer, m.n_head, m.n_head_kv, m.n_ff, m.n_ctx}) put_i64(v);
  put(&m.rms_eps, sizeof m.rms_eps);
  put(&m.rope_base, sizeof m.rope_base);
  put(&c.seed, sizeof c.seed);
  put_i64(c.step);
  put_i64(c.adam_steps);
  put(&c.data_hash, sizeof c.data_hash);
  const uint64_t n = c.params.size();
  if (c.m.size() != n || c.v.size() != n) trit::fail("{}: optimizer state does not match the parameters", path);
  put(&n, sizeof n);
  for (const auto* vec : {&c.params, &c.m, &c.v}) put(vec->data(), n * sizeof(float));
  ok = ok && std::fclose(file.f) == 0;
  file.f = nullptr;
  if (!ok) trit::fail("{}: writing the checkpoint failed", tmp);
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) trit::fail("{}: cannot rename the checkpoint into place: {}", path, ec.message());
}

Checkpoint load_checkpoint(const std::string& path) {
  File file;
  file.f = std::fopen(path.c_str(), "rb");
  if (!file.f) trit::fail("{}: cannot open the checkpoint", path);
  auto get = [&](void* p, size_t n) {
    if (std::fread(p, 1, n, file.f) != n) trit::fail("{}: the checkpoint is truncated", path);
  };
  auto get_i64 = [&] {
    int64_t v;
    get(&v, sizeof v);
    return v;
  };
  char magic[8];
  get(magic, sizeof magic);
  if (std::memcmp(magic, kMagic, sizeof kMagic) != 0) trit::fail("{}: not a trit training checkpoint", path);
  uint32_t version;
  get(&version, sizeof version);
  if (version != kVersion) trit::fail("{}: checkpoint version {} (this trit reads {})", path, version, kVersion);
  Checkpoint c;
  ModelConfig& m = c.config;
  for (int64_t* v : {&m.n_vocab, &m.n_embd, &m.n_layer, &m.n_head, &m.n_head_kv, &m.n_ff, &m.n_ctx}) *v = get_i64();
  get(&m.rms_eps, sizeof m.rms_eps);
  get(&m.rope_base, sizeof m.rope_base);
  get(&c.seed, sizeof c.seed);
  c.step = get_i64();
  c.adam_steps = get_i64();
  get(&c.data_hash, sizeof c.data_hash);
  uint64_t n;
  get(&n, sizeof n);
  m.validate();
  if (n != ParamLayout(m).n_params)
    trit::fail("{}: {} parameters stored, the model shape needs {}", path, n, ParamLayout(m).n_params);
  for (auto* vec : {&c.params, &c.m, &c.v}) {
    vec->resize(n);
    get(vec->data(), n * sizeof(float));
  }
  if (std::fgetc(file.f) != EOF) trit::fail("{}: trailing bytes after the checkpoint", path);
  return c;
}

uint64_t hash_tokens(const std::vector<int32_t>& tokens) {
  uint64_t h = 1469598103934665603ull;
  for (int32_t t : tokens) {
    uint32_t u = static_cast<uint32_t>(t);
    for (int i = 0; i < 4; ++i) {
      h ^= (u >> (8 * i)) & 0xff;
      h *= 1099511628211ull;
    }
  }
  return h;
}

}  // namespace trit::train
