#include "veil/base/scratch.h"

#include <cstdint>
#include <new>

#include <sys/mman.h>

namespace veil::internal {

namespace {

constexpr std::align_val_t kSmallAlignment{64};

size_t MappedBytes(size_t bytes) {
  return (bytes + kScratchHugePageBytes - 1) / kScratchHugePageBytes * kScratchHugePageBytes;
}

}  // namespace

void* AllocateScratch(size_t bytes) {
  if (bytes == 0) return nullptr;
  if (bytes < kScratchHugePageBytes) return ::operator new(bytes, kSmallAlignment);
  // Map one huge page more than needed and trim both ends, so the array starts on a 2 MiB
  // boundary and every page of it can be a huge page.
  const size_t len = MappedBytes(bytes);
  void* raw = mmap(nullptr, len + kScratchHugePageBytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  const auto base = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned =
      (base + kScratchHugePageBytes - 1) / kScratchHugePageBytes * kScratchHugePageBytes;
  if (aligned > base) munmap(raw, aligned - base);
  const uintptr_t tail = base + len + kScratchHugePageBytes - (aligned + len);
  if (tail > 0) munmap(reinterpret_cast<void*>(aligned + len), tail);
#ifdef MADV_HUGEPAGE
  madvise(reinterpret_cast<void*>(aligned), len, MADV_HUGEPAGE);  // advice only: ignore failure
#endif
  return reinterpret_cast<void*>(aligned);
}

void FreeScratch(void* p, size_t bytes) {
  if (p == nullptr) return;
  if (bytes < kScratchHugePageBytes) {
    ::operator delete(p, kSmallAlignment);
    return;
  }
  munmap(p, MappedBytes(bytes));
}

}  // namespace veil::internal
