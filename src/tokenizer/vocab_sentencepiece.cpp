// Vocab from a SentencePiece tokenizer.model: the ModelProto protobuf, read by hand (pieces with
// scores and types, the trainer's special ids, the normalizer's dummy-prefix flag).
#include <cstring>
#include <fstream>
#include <sstream>

#include "runtime/error.h"
#include "tokenizer/vocab.h"

namespace trit::tokenizer {

namespace {

// sentencepiece_model.proto field numbers.
constexpr uint32_t kModelPieces = 1, kModelTrainerSpec = 2, kModelNormalizerSpec = 3;
constexpr uint32_t kPiecePiece = 1, kPieceScore = 2, kPieceType = 3;
constexpr uint32_t kTrainerModelType = 3, kTrainerUnkId = 40, kTrainerBosId = 41, kTrainerEosId = 42,
                   kTrainerPadId = 43;
constexpr uint32_t kNormalizerAddDummyPrefix = 3;
constexpr uint64_t kModelTypeUnigram = 1;

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

// A protobuf message being read; errors name the file and the byte offset.
class ProtoReader {
 public:
  ProtoReader(const std::string& path, std::string_view bytes, size_t base) : path_(path), bytes_(bytes), base_(base) {}

  bool done() const { return pos_ >= bytes_.size(); }

  // Reads a field key; returns the field number and sets the wire type.
  uint32_t next_field(uint32_t& wire_type) {
    const uint64_t key = varint();
    wire_type = static_cast<uint32_t>(key & 7);
    if ((key >> 3) > UINT32_MAX || (key >> 3) == 0) fail("{}: bad protobuf field key at byte {}", path_, offset());
    return static_cast<uint32_t>(key >> 3);
  }

  uint64_t varint() {
    uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= bytes_.size()) fail("{}: protobuf varint runs past the end at byte {}", path_, offset());
      const auto b = static_cast<uint8_t>(bytes_[pos_++]);
      value |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return value;
    }
    fail("{}: protobuf varint longer than 10 bytes at byte {}", path_, offset());
  }

  float fixed32_float() {
    need(4, "a 32-bit value");
    float f;
    std::memcpy(&f, bytes_.data() + pos_, 4);
    pos_ += 4;
    return f;
  }

  // A length-delimited field's bytes, as a reader of the nested message.
  ProtoReader nested() {
    const uint64_t n = varint();
    need(n, "a length-delimited field");
    ProtoReader r(path_, bytes_.substr(pos_, n), base_ + pos_);
    pos_ += n;
    return r;
  }
  std::string_view string() {
    const uint64_t n = varint();
    need(n, "a string");
    const std::string_view s = bytes_.substr(pos_, n);
    pos_ += n;
    return s;
  }

  void skip(uint32_t wire_type) {
    switch (wire_type) {
      case kVarint:
        varint();
        return;
      case kFixed64:
        need(8, "a 64-bit value");
        pos_ += 8;
        return;
      case kLengthDelimited:
        nested();
        return;
      case kFixed32:
        need(4, "a 32-bit value");
        pos_ += 4;
        return;
      default:
        fail("{}: unknown protobuf wire type {} at byte {}", path_, wire_type, offset());
    }
  }

  void expect(uint32_t wire_type, uint32_t expected, const char* field) const {
    if (wire_type != expected)
      fail("{}: protobuf field {} has wire type {}, expected {} (byte {})", path_, field, wire_type, expected,
           offset());
  }

 private:
  size_t offset() const { return base_ + pos_; }
  void need(uint64_t n, const char* what) const {
    if (n > bytes_.size() - pos_)
      fail("{}: {} of {} bytes at byte {} runs past the end of its message", path_, what, n, offset());
  }

  const std::string& path_;
  std::string_view bytes_;
  size_t base_;
  size_t pos_ = 0;
};

}  // namespace

Vocab Vocab::from_sentencepiece_model(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open the SentencePiece model", path);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  const std::string bytes = buffer.str();

  Vocab v;
  v.model = "llama";
  v.pre = "default";
  int64_t unk_id = 0, bos_id = 1, eos_id = 2, pad_id = -1;  // TrainerSpec defaults
  bool add_dummy_prefix = true;
  uint64_t model_type = 0;

  ProtoReader model(path, bytes, 0);
  while (!model.done()) {
    uint32_t wire = 0;
    const uint32_t field = model.next_field(wire);
    if (field == kModelPieces) {
      model.expect(wire, kLengthDelimited, "ModelProto.pieces");
      ProtoReader piece = model.nested();
      std::string text;
      float score = 0.0f;
      uint64_t type = static_cast<uint64_t>(TokenType::kNormal);
      while (!piece.done()) {
        const uint32_t f = piece.next_field(wire);
        if (f == kPiecePiece) {
          piece.expect(wire, kLengthDelimited, "SentencePiece.piece");
          text = piece.string();
        } else if (f == kPieceScore) {
          piece.expect(wire, kFixed32, "SentencePiece.score");
          score = piece.fixed32_float();
        } else if (f == kPieceType) {
          piece.expect(wire, kVarint, "SentencePiece.type");
          type = piece.varint();
        } else {
          piece.skip(wire);
        }
      }
      if (type < 1 || type > static_cast<uint64_t>(TokenType::kByte))
        fail("{}: piece {} ('{}') has unknown type {}", path, v.tokens.size(), text, type);
      v.tokens.push_back(std::move(text));
      v.scores.push_back(score);
      v.types.push_back(static_cast<TokenType>(type));
    } else if (field == kModelTrainerSpec && wire == kLengthDelimited) {
      ProtoReader spec = model.nested();
      while (!spec.done()) {
        const uint32_t f = spec.next_field(wire);
        if (wire == kVarint && (f == kTrainerModelType || f == kTrainerUnkId || f == kTrainerBosId ||
                                f == kTrainerEosId || f == kTrainerPadId)) {
          const uint64_t raw = spec.varint();
          const auto value = static_cast<int64_t>(static_cast<int32_t>(raw));  // int32 fields sign-extend
          if (f == kTrainerModelType) model_type = raw;
          if (f == kTrainerUnkId) unk_id = value;
          if (f == kTrainerBosId) bos_id = value;
          if (f == kTrainerEosId) eos_id = value;
          if (f == kTrainerPadId) pad_id = value;
        } else {
          spec.skip(wire);
        }
      }
    } else if (field == kModelNormalizerSpec && wire == kLengthDelimited) {
      ProtoReader spec = model.nested();
      while (!spec.done()) {
        const uint32_t f = spec.next_field(wire);
        if (f == kNormalizerAddDummyPrefix && wire == kVarint)
          add_dummy_prefix = spec.varint() != 0;
        else
          spec.skip(wire);
      }
    } else {
      model.skip(wire);
    }
  }
  if (v.tokens.empty()) fail("{}: the SentencePiece model has no pieces", path);
  if (model_type == kModelTypeUnigram)
    fail("{}: SentencePiece unigram models are not supported (trit reads BPE models)", path);

  const auto n = static_cast<int64_t>(v.tokens.size());
  auto id = [&](int64_t value, const char* name) -> int32_t {
    if (value < 0) return -1;
    if (value >= n) fail("{}: trainer_spec.{} is {}, out of range for {} pieces", path, name, value, n);
    return static_cast<int32_t>(value);
  };
  v.unk_id = id(unk_id, "unk_id");
  v.bos_id = id(bos_id, "bos_id");
  v.eos_id = id(eos_id, "eos_id");
  v.pad_id = id(pad_id, "pad_id");
  v.add_space_prefix = add_dummy_prefix;
  return v;
}

}  // namespace trit::tokenizer
