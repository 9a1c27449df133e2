// GGUF metadata values: type names, numeric conversions and the short rendering `trit inspect` prints.
#include "gguf/value.h"

#include <fmt/format.h>

#include <array>
#include <limits>
#include <type_traits>

namespace trit::gguf {

namespace {

constexpr std::array<std::string_view, 13> kTypeNames = {"u8",   "i8",     "u16",   "i16", "u32", "i32", "f32",
                                                         "bool", "string", "array", "u64", "i64", "f64"};

// Escapes control characters and quotes so a string with NULs or newlines prints on one line.
void append_escaped(std::string& out, std::string_view s) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out += c;
    }
  }
}

// Cuts at max_chars bytes without splitting a UTF-8 sequence.
std::string_view cut_utf8(std::string_view s, size_t max_chars, bool& cut) {
  cut = s.size() > max_chars;
  if (!cut) return s;
  size_t n = max_chars;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

std::string render_scalar(const Value& v, size_t max_chars) {
  return std::visit(
      [&](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::string>) {
          bool cut = false;
          std::string out = "\"";
          append_escaped(out, cut_utf8(x, max_chars, cut));
          out += cut ? "\"..." : "\"";
          return out;
        } else if constexpr (std::is_same_v<T, Array>) {
          return {};  // handled by the caller
        } else if constexpr (std::is_same_v<T, bool>) {
          return x ? "true" : "false";
        } else if constexpr (std::is_same_v<T, uint8_t> || std::is_same_v<T, int8_t>) {
          return fmt::format("{}", static_cast<int>(x));
        } else {
          return fmt::format("{}", x);
        }
      },
      v.storage());
}

}  // namespace

std::string_view value_type_name(ValueType type) {
  const auto i = static_cast<uint32_t>(type);
  if (i < kTypeNames.size()) return kTypeNames[i];
  return "unknown";
}

bool Value::is_integer() const {
  switch (type()) {
    case ValueType::UINT8:
    case ValueType::INT8:
    case ValueType::UINT16:
    case ValueType::INT16:
    case ValueType::UINT32:
    case ValueType::INT32:
    case ValueType::UINT64:
    case ValueType::INT64:
      return true;
    default:
      return false;
  }
}

bool Value::is_float() const { return type() == ValueType::FLOAT32 || type() == ValueType::FLOAT64; }

bool Value::to_int64(int64_t& out) const {
  return std::visit(
      [&](const auto& x) -> bool {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, float> || std::is_same_v<T, double> ||
                      std::is_same_v<T, std::string> || std::is_same_v<T, Array>) {
          return false;
        } else if constexpr (std::is_same_v<T, uint64_t>) {
          if (x > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
          out = static_cast<int64_t>(x);
          return true;
        } else {
          out = static_cast<int64_t>(x);
          return true;
        }
      },
      storage_);
}

bool Value::to_double(double& out) const {
  return std::visit(
      [&](const auto& x) -> bool {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, std::string> || std::is_same_v<T, Array>) {
          return false;
        } else {
          out = static_cast<double>(x);
          return true;
        }
      },
      storage_);
}

std::string Value::to_display_string(size_t max_chars) const {
  const Array* array = as_array();
  if (!array) return render_scalar(*this, max_chars);
  std::string out = fmt::format("[{}; {}]", value_type_name(array->element_type), array->items.size());
  // Items until the rendering passes max_chars, then "...".
  std::string body;
  size_t shown = 0;
  for (const Value& item : array->items) {
    std::string s = item.to_display_string(max_chars);
    if (shown > 0 && body.size() + s.size() + 2 > max_chars) break;
    if (shown > 0) body += ", ";
    body += s;
    ++shown;
    if (body.size() > max_chars) break;
  }
  if (!array->items.empty()) out += " " + body;
  if (shown < array->items.size()) out += ", ...";
  return out;
}

}  // namespace trit::gguf
