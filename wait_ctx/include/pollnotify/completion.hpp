// pollnotify completion entry: what a device pushes into a completion ring for each finished
// request, what the poller delivers to the request's wait context, and what a completion
// callback receives. The C type PN_COMPLETION (<pollnotify/completion.h>) has the same layout
// (asserted below); the two convert by copy (std::bit_cast), never by reading one as the other.
#pragma once

#include <bit>
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
};
static_assert(sizeof(Completion) == 32, "two completions per cache line");
static_assert(sizeof(Completion) == sizeof(PN_COMPLETION) &&
                  offsetof(Completion, user_data) == offsetof(PN_COMPLETION, user_data) &&
                  offsetof(Completion, ticket) == offsetof(PN_COMPLETION, ticket) &&
                  offsetof(Completion, status) == offsetof(PN_COMPLETION, status) &&
                  offsetof(Completion, result) == offsetof(PN_COMPLETION, result),
              "pn::Completion and PN_COMPLETION are the same bytes");

// The checked conversions (std::bit_cast checks the sizes and that both are trivially copyable).
[[nodiscard]] inline PN_COMPLETION to_c_completion(const Completion& completion) noexcept {
  return std::bit_cast<PN_COMPLETION>(completion);
}
[[nodiscard]] inline Completion from_c_completion(const PN_COMPLETION& completion) noexcept {
  return std::bit_cast<Completion>(completion);
}

}  // namespace pn
