#include "veil/crypto/cr_hash.h"

#include <algorithm>
#include <cstring>

#include <openssl/evp.h>

#include "veil/base/exception.h"

namespace veil::crypto {

namespace {

// Blocks per EVP call; keeps the σ buffer on the stack and in L1.
constexpr size_t kBatchBlocks = 512;

void EnforceSsl(bool ok, const char* what) {
  VEIL_ENFORCE(ok, InternalError, "openssl_failure", std::string("fixed-key AES: ") + what);
}

class EcbContext {
 public:
  explicit EcbContext(const uint8_t* key = kFixedAesKey.data()) : ctx_(EVP_CIPHER_CTX_new()) {
    EnforceSsl(ctx_ != nullptr, "context allocation");
    EnforceSsl(EVP_EncryptInit_ex(ctx_, EVP_aes_128_ecb(), nullptr, key, nullptr) == 1,
               "key setup");
    EVP_CIPHER_CTX_set_padding(ctx_, 0);
  }
  ~EcbContext() { EVP_CIPHER_CTX_free(ctx_); }
  EcbContext(const EcbContext&) = delete;
  EcbContext& operator=(const EcbContext&) = delete;

  void Encrypt(const Block* in, Block* out, size_t n) {
    int len = 0;
    EnforceSsl(EVP_EncryptUpdate(ctx_, reinterpret_cast<uint8_t*>(out), &len,
                                 reinterpret_cast<const uint8_t*>(in),
                                 static_cast<int>(n * sizeof(Block))) == 1,
               "encrypt");
  }

 private:
  EVP_CIPHER_CTX* ctx_;
};

}  // namespace

void AesEcb(const Block& key, const Block* in, Block* out, size_t n) {
  if (n == 0) return;
  EcbContext ctx(reinterpret_cast<const uint8_t*>(&key));
  for (size_t off = 0; off < n; off += kBatchBlocks) {
    ctx.Encrypt(in + off, out + off, std::min(kBatchBlocks, n - off));
  }
}

void FixedKeyAes(const Block* in, Block* out, size_t n) {
  Block key;
  std::memcpy(&key, kFixedAesKey.data(), sizeof key);
  AesEcb(key, in, out, n);
}

void CcrHash(const Block* in, Block* out, size_t n) {
  if (n == 0) return;
  EcbContext ctx;
  Block sigma[kBatchBlocks];
  for (size_t off = 0; off < n; off += kBatchBlocks) {
    const size_t len = std::min(kBatchBlocks, n - off);
    for (size_t i = 0; i < len; ++i) {
      const Block& x = in[off + i];
      sigma[i] = Block{x.hi, x.hi ^ x.lo};
    }
    ctx.Encrypt(sigma, out + off, len);
    for (size_t i = 0; i < len; ++i) out[off + i] ^= sigma[i];
  }
}

}  // namespace veil::crypto
