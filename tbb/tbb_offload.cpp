#include <oneapi/tbb/task.h>
#include <oneapi/tbb/task_group.h>

#include <algorithm>

#include "pollnotify/tbb.hpp"

namespace pn::tbb {
namespace {

// One request's state, on the suspended task's stack (it stays put while suspended).
struct Pending {
  oneapi::tbb::task::suspend_point point = nullptr;
  PN_COMPLETION completion{};
};

// The poller thread: keep the completion, then hand the task back to TBB.
int resume_task(void* arg, const PN_COMPLETION* completion) {
  auto* pending = static_cast<Pending*>(arg);
  pending->completion = *completion;
  oneapi::tbb::task::resume(pending->point);
  return 1;
}

bool group_cancelled() {
  oneapi::tbb::task_group_context* context = oneapi::tbb::task::current_context();
  return context != nullptr && context->is_group_execution_cancelled();
}

}  // namespace

void yield_worker() {
  oneapi::tbb::task::suspend(
      [](oneapi::tbb::task::suspend_point point) { oneapi::tbb::task::resume(point); });
}

OffloadResult offload(Device& device, std::uint64_t user_data, const OffloadOptions& options) {
  OffloadResult outcome;
  if (oneapi::tbb::task::current_context() == nullptr) return outcome;  // not in a TBB task
  const WaitCtxPtr ctx = WaitCtx::make();
  Pending pending;
  ctx->set_completion_callback(resume_task, &pending);
  unsigned backoff = 1;
  for (;;) {
    if (group_cancelled()) {  // nothing (more) submitted: nothing to wait for
      outcome.submit = SubmitResult::kFailed;
      outcome.status = PN_ASYNC_STATUS_ERR;
      return outcome;
    }
    SubmitResult submitted = SubmitResult::kFailed;
    oneapi::tbb::task::suspend([&](oneapi::tbb::task::suspend_point point) {
      pending.point = point;  // before the submission: its callback may run at once
      submitted = device.submit(*ctx, user_data);
      if (submitted != SubmitResult::kAccepted) oneapi::tbb::task::resume(point);  // none comes
    });
    outcome.submit = submitted;
    if (submitted == SubmitResult::kAccepted) {
      outcome.status = pending.completion.status;
      outcome.result = pending.completion.result;
      return outcome;
    }
    outcome.status = ctx->status();
    if (submitted == SubmitResult::kFailed || outcome.retries == options.max_retries) {
      return outcome;
    }
    ++outcome.retries;
    for (unsigned i = 0; i < backoff; ++i) yield_worker();
    backoff = std::min(backoff * 2, std::max(options.max_backoff_yields, 1U));
  }
}

}  // namespace pn::tbb
