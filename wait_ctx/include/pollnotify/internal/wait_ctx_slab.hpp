// pollnotify internal: what the wait contexts' type-stable slab holds, for tests that check its
// memory stays bounded.
#pragma once

#include <cstddef>

namespace pn::internal {

struct WaitCtxSlabCounts {
  std::size_t constructed;  // contexts ever made (never returned to the system)
  std::size_t free;         // reusable now
  std::size_t deferred;     // destroyed inside a callback, reusable after a grace period
};

[[nodiscard]] WaitCtxSlabCounts wait_ctx_slab_counts();

}  // namespace pn::internal
