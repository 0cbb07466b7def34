// ScratchArray<T>: an uninitialised array for large transient buffers that are written before they
// are read (the silent-VOLE PPRF leaves, the OKVS band rows): hundreds of MB at the sizes PSI uses.
//  * No value-initialisation pass: std::vector<T>(n) writes every element once before the caller
//    does, which at these sizes is a full extra pass over memory.
//  * Arrays of at least kScratchHugePageBytes are mapped directly (mmap), aligned to 2 MiB and
//    advised as transparent huge pages (madvise MADV_HUGEPAGE; a no-op where the kernel does not
//    support it): 512 times fewer page faults on first touch and far fewer TLB misses under random
//    access. Smaller arrays come from operator new.
//
// T must be trivially copyable and destructible (Blocks, integers). Elements start indeterminate:
// read only what was written. Allocation failure throws std::bad_alloc, as std::vector does.
// Move-only; one owner; no internal synchronisation (like a std::vector).
#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>

namespace veil {

inline constexpr size_t kScratchHugePageBytes = size_t{2} << 20;

namespace internal {
void* AllocateScratch(size_t bytes);
void FreeScratch(void* p, size_t bytes);
}  // namespace internal

template <typename T>
class ScratchArray {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_destructible_v<T>);

 public:
  ScratchArray() = default;
  explicit ScratchArray(size_t n)
      : data_(static_cast<T*>(internal::AllocateScratch(n * sizeof(T)))), size_(n) {}
  ~ScratchArray() { internal::FreeScratch(data_, size_ * sizeof(T)); }
  ScratchArray(ScratchArray&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), size_(std::exchange(o.size_, 0)) {}
  ScratchArray& operator=(ScratchArray&& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(size_, o.size_);
    return *this;
  }
  ScratchArray(const ScratchArray&) = delete;
  ScratchArray& operator=(const ScratchArray&) = delete;

  T* data() { return data_; }
  const T* data() const { return data_; }
  size_t size() const { return size_; }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }

 private:
  T* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace veil
