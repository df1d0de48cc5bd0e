// pollnotify completion entry: what a device pushes into a completion ring for each finished
// request, and what the poller delivers to the request's wait context.
#pragma once

#include <cstdint>

#include "pollnotify/wait_ctx.hpp"

namespace pn {

struct Completion {
  WaitCtx* ctx;             // armed by the engine; the ticket keeps it alive until delivery
  std::uint64_t user_data;  // opaque to pollnotify (request id, pointer to the result, ...)
  RequestTicket ticket;     // from ctx->arm() at submission
  std::int32_t status;      // PN_ASYNC_STATUS_*: OK, or ERR for a failed request
};
static_assert(sizeof(Completion) == 32, "two completions per cache line");

}  // namespace pn
