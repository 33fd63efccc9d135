// TuneHostAllocator: a 64 MiB block comes from the heap once tuned, from mmap under glibc's defaults, and
// the user's own MALLOC_* setting disables the tuning.
#include "core/model/host_allocator.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace brain::model {
namespace {

#if defined(__GLIBC__)
// Whether a fresh 64 MiB allocation is a separate mmap'd block (mallinfo2().hblks counts those).
bool SixtyFourMibIsMmapped() {
  const size_t before = mallinfo2().hblks;
  void* p = std::malloc(size_t{64} << 20);
  EXPECT_NE(p, nullptr);
  std::memset(p, 1, 4096);
  const bool mmapped = mallinfo2().hblks > before;
  std::free(p);
  return mmapped;
}

TEST(TuneHostAllocator, ServesLargeBlocksFromTheHeapUnlessTheUserChoseOtherwise) {
  ASSERT_TRUE(SixtyFourMibIsMmapped()) << "glibc's default should mmap a 64 MiB block";
  setenv("MALLOC_TOP_PAD_", "131072", 1);  // the user's own setting: left alone
  TuneHostAllocator();
  EXPECT_TRUE(SixtyFourMibIsMmapped());
  unsetenv("MALLOC_TOP_PAD_");
  TuneHostAllocator();
  EXPECT_FALSE(SixtyFourMibIsMmapped());
}
#else
TEST(TuneHostAllocator, ServesLargeBlocksFromTheHeapUnlessTheUserChoseOtherwise) {
  GTEST_SKIP() << "glibc only: elsewhere TuneHostAllocator does nothing";
}
#endif

}  // namespace
}  // namespace brain::model
