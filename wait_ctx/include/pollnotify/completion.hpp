// pollnotify completion entry: what a device pushes into a completion ring for each finished
// request, what the poller delivers to the request's wait context, and what a completion
// callback receives. The same bytes as the C type PN_COMPLETION (<pollnotify/completion.h>).
#pragma once

#include <cstddef>
#include <cstdint>

#include "pollnotify/completion.h"

namespace pn {

class WaitCtx;

// Returned by WaitCtx::arm(), carried by the completion back to deliver().
struct RequestTicket {
  std::uint64_t generation;
};

struct Completion {
  WaitCtx* ctx;             // armed by the device; type-stable memory, valid even when freed
  std::uint64_t user_data;  // the submitter's value, passed through untouched
  RequestTicket ticket;     // from ctx->arm() at submission
  std::int32_t status;      // PN_ASYNC_STATUS_*: OK, or ERR for a failed request
  std::int32_t result = 0;  // the device's own result code, 0 when it has none

  [[nodiscard]] const PN_COMPLETION* c_view() const noexcept {
    return reinterpret_cast<const PN_COMPLETION*>(this);
  }
};
static_assert(sizeof(Completion) == 32, "two completions per cache line");
static_assert(sizeof(Completion) == sizeof(PN_COMPLETION) &&
                  offsetof(Completion, user_data) == offsetof(PN_COMPLETION, user_data) &&
                  offsetof(Completion, ticket) == offsetof(PN_COMPLETION, ticket) &&
                  offsetof(Completion, status) == offsetof(PN_COMPLETION, status) &&
                  offsetof(Completion, result) == offsetof(PN_COMPLETION, result),
              "pn::Completion and PN_COMPLETION are the same bytes");

}  // namespace pn
