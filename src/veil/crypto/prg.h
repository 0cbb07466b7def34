// Seeded pseudo-random generator: AES-128 in counter mode (OpenSSL EVP, AES-NI when the CPU has
// it) keyed by a 128-bit seed. Shared by the secret-sharing engine (correlated randomness from
// pairwise seeds) and the OT layer (expansion of base-OT keys).
//
//   Prg prg(seed, kStreamBeaver);
//   prg.FillRing(a.data(), a.numel());   // next a.numel() ring elements of the stream
//
// Stream layout: block j of stream `s` is AES_seed(s ‖ j) with s in the high and j in the low 64
// bits of the big-endian counter block, so distinct stream ids of one seed never overlap
// (2^64 blocks per stream). Two parties holding the same seed and stream id produce identical
// output as long as they issue the same sequence of Fill calls: each call starts on a fresh
// block, so Fill(a) then Fill(b) equals Fill(a + b) only when a is a multiple of 16 bytes.
//
// Security: AES-128 is modelled as a PRF; the output is computationally indistinguishable from
// uniform to anyone without the seed (128-bit security).
//
// Thread safety: a Prg is used by one thread at a time (it owns a counter). Large fills are split
// across base ParallelFor internally. Not copyable; movable.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace veil::crypto {

inline constexpr size_t kSeedBytes = 16;
inline constexpr size_t kPrgBlockBytes = 16;
// Blocks a Fill of `bytes` bytes consumes.
inline constexpr uint64_t PrgBlocks(size_t bytes) {
  return (bytes + kPrgBlockBytes - 1) / kPrgBlockBytes;
}
using Seed = std::array<uint8_t, kSeedBytes>;

// A fresh seed from the OS CSPRNG (libsodium randombytes).
Seed RandomSeed();

// Purposes of the streams derived from one seed, so that e.g. Beaver triples and input masks of
// a pair never reuse keystream.
enum class PrgStream : uint64_t {
  kPrivate = 0,      // a party's own randomness
  kInput = 1,        // masks for sharing inputs
  kBeaver = 2,       // correlated randomness from the trusted first party
  kPrss = 3,         // pseudo-random (zero) sharing between neighbours (ABY3)
  kOtExtension = 4,  // IKNP columns expanded from base-OT keys (veil/ot)
};

class Prg {
 public:
  explicit Prg(const Seed& seed, PrgStream stream = PrgStream::kPrivate);
  ~Prg();
  Prg(Prg&&) noexcept;
  Prg& operator=(Prg&&) noexcept;
  Prg(const Prg&) = delete;
  Prg& operator=(const Prg&) = delete;

  // Writes the next `bytes` bytes of the stream to `out`; advances by ceil(bytes / 16) blocks.
  void Fill(void* out, size_t bytes);
  // Random access: `bytes` bytes starting at block `block` of the stream, without moving the
  // position. Const and safe to call from several threads at once (own cipher state per call),
  // so a party can re-expand pieces of another party's Fill in parallel chunks.
  void FillAt(uint64_t block, void* out, size_t bytes) const;
  // The block the next Fill starts at, and moving it forward past output produced by FillAt.
  uint64_t position() const { return counter_; }
  void Skip(uint64_t blocks) { counter_ += blocks; }
  // The next n uniformly random ring elements (uint64_t or unsigned __int128).
  template <typename T>
  void FillRing(T* out, int64_t n) {
    Fill(out, static_cast<size_t>(n) * sizeof(T));
  }

 private:
  struct Cipher;
  Seed seed_;
  uint64_t stream_;
  uint64_t counter_ = 0;
  std::unique_ptr<Cipher> cipher_;  // keyed context reused by small fills
};

}  // namespace veil::crypto
