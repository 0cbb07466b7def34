// Byte buffers and a small little-endian writer/reader for wire formats.
//
// ByteReader never reads past the end: every Read* returns false on a short buffer, so a
// truncated or hostile message is reported as an error by the caller, not undefined behaviour.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace veil {

using Buffer = std::vector<uint8_t>;

class ByteWriter {
 public:
  explicit ByteWriter(Buffer* out) : out_(out) {}
  void U8(uint8_t v) { out_->push_back(v); }
  void U32(uint32_t v) { Raw(&v, sizeof v); }  // little-endian hosts only (x86_64, aarch64)
  void U64(uint64_t v) { Raw(&v, sizeof v); }
  void I64(int64_t v) { Raw(&v, sizeof v); }
  void Raw(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    out_->insert(out_->end(), b, b + n);
  }
  // u32 length prefix + bytes.
  void Str(std::string_view s) {
    U32(static_cast<uint32_t>(s.size()));
    Raw(s.data(), s.size());
  }

 private:
  Buffer* out_;
};

class ByteReader {
 public:
  ByteReader(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}
  explicit ByteReader(const Buffer& b) : ByteReader(b.data(), b.size()) {}
  [[nodiscard]] bool U8(uint8_t* v) { return Raw(v, 1); }
  [[nodiscard]] bool U32(uint32_t* v) { return Raw(v, sizeof *v); }
  [[nodiscard]] bool U64(uint64_t* v) { return Raw(v, sizeof *v); }
  [[nodiscard]] bool I64(int64_t* v) { return Raw(v, sizeof *v); }
  [[nodiscard]] bool Raw(void* dst, size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) return false;
    std::memcpy(dst, p_, n);
    p_ += n;
    return true;
  }
  [[nodiscard]] bool Str(std::string* s) {
    uint32_t n;
    if (!U32(&n) || static_cast<size_t>(end_ - p_) < n) return false;
    s->assign(reinterpret_cast<const char*>(p_), n);
    p_ += n;
    return true;
  }
  // Points at the next n bytes without copying.
  [[nodiscard]] bool View(const uint8_t** v, size_t n) {
    if (static_cast<size_t>(end_ - p_) < n) return false;
    *v = p_;
    p_ += n;
    return true;
  }
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

std::string ToHex(const uint8_t* data, size_t n);
inline std::string ToHex(const Buffer& b) { return ToHex(b.data(), b.size()); }

}  // namespace veil
