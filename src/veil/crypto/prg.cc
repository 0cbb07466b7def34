#include "veil/crypto/prg.h"

#include <algorithm>
#include <cstring>

#include <openssl/evp.h>

#include "veil/base/exception.h"
#include "veil/base/parallel.h"
#include "veil/base/random.h"

namespace veil::crypto {

namespace {

constexpr size_t kBlockBytes = kPrgBlockBytes;
// Keystream is produced by encrypting zeros from this buffer (kept small so it stays in L1).
constexpr size_t kZeroChunkBytes = 8192;
alignas(64) const uint8_t kZeros[kZeroChunkBytes] = {};
// Fills above this size are split into parallel chunks of kParallelChunkBytes.
constexpr size_t kParallelChunkBytes = size_t{1} << 20;

void EnforceSsl(bool ok, const char* what) {
  VEIL_ENFORCE(ok, InternalError, "openssl_failure", std::string("AES-CTR: ") + what);
}

// Big-endian counter block: stream id (high 64 bits) ‖ block index (low 64 bits).
void CounterBlock(uint64_t stream, uint64_t block, uint8_t iv[kBlockBytes]) {
  for (int i = 0; i < 8; ++i) {
    iv[i] = static_cast<uint8_t>(stream >> (56 - 8 * i));
    iv[8 + i] = static_cast<uint8_t>(block >> (56 - 8 * i));
  }
}

void Keystream(EVP_CIPHER_CTX* ctx, const Seed& seed, uint64_t stream, uint64_t block, uint8_t* out,
               size_t bytes, bool keyed) {
  uint8_t iv[kBlockBytes];
  CounterBlock(stream, block, iv);
  EnforceSsl(EVP_EncryptInit_ex(ctx, keyed ? nullptr : EVP_aes_128_ctr(), nullptr,
                                keyed ? nullptr : seed.data(), iv) == 1,
             "init");
  while (bytes > 0) {
    const size_t n = std::min(bytes, kZeroChunkBytes);
    int len = 0;
    EnforceSsl(EVP_EncryptUpdate(ctx, out, &len, kZeros, static_cast<int>(n)) == 1, "update");
    out += n;
    bytes -= n;
  }
}

}  // namespace

struct Prg::Cipher {
  EVP_CIPHER_CTX* ctx = nullptr;
  ~Cipher() { EVP_CIPHER_CTX_free(ctx); }
};

Seed RandomSeed() {
  Seed s;
  RandomBytes(s.data(), s.size());
  return s;
}

Prg::Prg(const Seed& seed, PrgStream stream)
    : seed_(seed), stream_(static_cast<uint64_t>(stream)), cipher_(std::make_unique<Cipher>()) {
  cipher_->ctx = EVP_CIPHER_CTX_new();
  EnforceSsl(cipher_->ctx != nullptr, "context allocation");
  uint8_t iv[kBlockBytes] = {};
  EnforceSsl(EVP_EncryptInit_ex(cipher_->ctx, EVP_aes_128_ctr(), nullptr, seed_.data(), iv) == 1,
             "key setup");
}

Prg::~Prg() = default;
Prg::Prg(Prg&&) noexcept = default;
Prg& Prg::operator=(Prg&&) noexcept = default;

void Prg::Fill(void* out, size_t bytes) {
  if (bytes == 0) return;
  const uint64_t first_block = counter_;
  counter_ += PrgBlocks(bytes);
  if (bytes <= kParallelChunkBytes) {
    Keystream(cipher_->ctx, seed_, stream_, first_block, static_cast<uint8_t*>(out), bytes,
              /*keyed=*/true);
    return;
  }
  FillAt(first_block, out, bytes);
}

void Prg::FillAt(uint64_t block, void* out, size_t bytes) const {
  if (bytes == 0) return;
  auto* dst = static_cast<uint8_t*>(out);
  const int64_t chunks =
      static_cast<int64_t>((bytes + kParallelChunkBytes - 1) / kParallelChunkBytes);
  ParallelFor(chunks, 1, [&](int64_t lo, int64_t hi) {
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    EnforceSsl(ctx != nullptr, "context allocation");
    try {
      for (int64_t c = lo; c < hi; ++c) {
        const size_t off = static_cast<size_t>(c) * kParallelChunkBytes;
        const size_t n = std::min(kParallelChunkBytes, bytes - off);
        Keystream(ctx, seed_, stream_, block + off / kBlockBytes, dst + off, n,
                  /*keyed=*/false);
      }
    } catch (...) {
      EVP_CIPHER_CTX_free(ctx);
      throw;
    }
    EVP_CIPHER_CTX_free(ctx);
  });
}

}  // namespace veil::crypto
