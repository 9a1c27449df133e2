// libFuzzer target: gguf::Reader::from_bytes on arbitrary bytes must either parse or throw trit::Error,
// and whatever it accepts must be safe to walk (metadata values, tensor views).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "gguf/reader.h"
#include "runtime/error.h"

namespace {

// Visits every value so that the sanitizers see each byte the Reader handed out.
size_t touch(const trit::gguf::Value& v) {
  size_t n = v.to_display_string(16).size();
  if (const auto* s = v.as_string()) n += s->size();
  if (const auto* a = v.as_array())
    for (const auto& item : a->items) n += touch(item);
  int64_t i = 0;
  double d = 0;
  n += v.to_int64(i) ? 1 : 0;
  n += v.to_double(d) ? 1 : 0;
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const auto reader = trit::gguf::Reader::from_bytes(std::span<const uint8_t>(data, size), "fuzz.gguf");
    size_t n = 0;
    for (const auto& [key, value] : reader.metadata()) {
      n += key.size() + touch(value);
      if (reader.find(key) == nullptr) __builtin_trap();
    }
    for (const auto& t : reader.tensors()) {
      if (t.data.size() != t.n_bytes) __builtin_trap();
      if (reader.data_offset() + t.offset + t.n_bytes > size) __builtin_trap();
      uint8_t x = 0;
      for (uint8_t b : t.data) x ^= b;
      n += x + t.n_elements();
      if (&reader.tensor(t.name) != &t) __builtin_trap();
    }
    try {
      n += static_cast<size_t>(reader.get_int("general.alignment"));
      n += reader.get_string("general.architecture").size();
    } catch (const trit::Error&) {
    }
    volatile size_t sink = n;
    (void)sink;
  } catch (const trit::Error&) {
  }
  return 0;
}
