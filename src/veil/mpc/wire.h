// Wire encoding of ring elements and bit strings: raw little-endian element bytes, no header
// (sizes are public and checked by the receiver). Loads and stores go through memcpy, so
// buffers need no particular alignment.
#pragma once

#include <cstdint>
#include <cstring>

#include "veil/base/bytes.h"
#include "veil/mpc/bits.h"
#include "veil/mpc/ring.h"

namespace veil::mpc {

template <RingElement T>
inline T LoadRing(const uint8_t* base, int64_t i) {
  T v;
  std::memcpy(&v, base + i * static_cast<int64_t>(sizeof(T)), sizeof(T));
  return v;
}

template <RingElement T>
inline void StoreRing(uint8_t* base, int64_t i, T v) {
  std::memcpy(base + i * static_cast<int64_t>(sizeof(T)), &v, sizeof(T));
}

inline uint64_t LoadWord(const uint8_t* base, int64_t i) {
  uint64_t v;
  std::memcpy(&v, base + i * 8, 8);
  return v;
}

inline void StoreWord(uint8_t* base, int64_t i, uint64_t v) { std::memcpy(base + i * 8, &v, 8); }

template <RingElement T>
Buffer ToBuffer(const T* data, int64_t n) {
  Buffer b(static_cast<size_t>(n) * sizeof(T));
  if (n > 0) std::memcpy(b.data(), data, b.size());
  return b;
}

template <RingElement T>
Buffer ToBuffer(const Tensor<T>& t) {
  return ToBuffer(t.data(), t.numel());
}

// `b` must hold NumElements(shape) elements (callers check the size on receipt).
template <RingElement T>
Tensor<T> FromBuffer(const Buffer& b, const Shape& shape) {
  Tensor<T> t = Tensor<T>::Uninitialized(shape);
  if (t.numel() > 0) std::memcpy(t.data(), b.data(), static_cast<size_t>(t.numel()) * sizeof(T));
  return t;
}

inline Buffer WordsToBuffer(const Words& w) {
  Buffer b(w.size() * sizeof(uint64_t));
  if (!w.empty()) std::memcpy(b.data(), w.data(), b.size());
  return b;
}

inline Words BufferToWords(const Buffer& b) {
  Words w(b.size() / sizeof(uint64_t));
  if (!w.empty()) std::memcpy(w.data(), b.data(), w.size() * sizeof(uint64_t));
  return w;
}

}  // namespace veil::mpc
