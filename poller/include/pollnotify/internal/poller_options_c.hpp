// pollnotify internal: the C poller options as pn::PollerOptions, for every C constructor that
// takes them (PN_POLLER_new, PN_RUNTIME_new). Do not include directly.
#pragma once

#include "pollnotify/poller.h"
#include "pollnotify/poller.hpp"

namespace pn::internal {

// NULL options: the defaults. 0, or -EINVAL with the reason recorded (<pollnotify/error.h>) for
// a struct_size this library does not know or a policy that is not a PN_POLL_* value; the rest
// is checked by the Poller that takes them. Throws std::bad_alloc only.
int poller_options_from_c(const PN_POLLER_OPTIONS* options, PollerOptions& out);

}  // namespace pn::internal
