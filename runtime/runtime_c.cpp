// The runtime's C API: NULL checks and exception-to-error boundaries over pn::Runtime.
#include <algorithm>
#include <cerrno>
#include <climits>
#include <memory>
#include <new>
#include <string>

#include "pollnotify/c_device.hpp"
#include "pollnotify/internal/last_error.hpp"
#include "pollnotify/internal/poller_options_c.hpp"
#include "pollnotify/runtime.h"
#include "pollnotify/runtime.hpp"

struct pn_runtime_st {
  std::unique_ptr<pn::Runtime> runtime;
};

using pn::internal::c_call;
using pn::internal::c_call_pointer;
using pn::internal::fail;
using pn::internal::fail_static;

namespace pn {

PN_RUNTIME* to_c_handle(std::unique_ptr<Runtime> runtime) noexcept {
  if (runtime == nullptr) return nullptr;
  auto* handle = new (std::nothrow) pn_runtime_st{std::move(runtime)};
  if (handle == nullptr) fail_static(-ENOMEM, "out of memory");
  return handle;
}

Runtime* from_c_handle(PN_RUNTIME* runtime) noexcept {
  return runtime == nullptr ? nullptr : runtime->runtime.get();
}

}  // namespace pn

namespace {

// The submit rule of <pollnotify/runtime.h>: the device already set the context's status.
int submit_result(pn::SubmitResult result) noexcept {
  switch (result) {
    case pn::SubmitResult::kAccepted:
      return 0;
    case pn::SubmitResult::kRetry:
      return fail_static(-EAGAIN, "submit: the device refused the request for now (retry)");
    case pn::SubmitResult::kFailed:
      break;
  }
  return fail_static(-EIO, "submit: the device failed the request");
}

int submit_refused(PN_ASYNC_WAIT_CTX* ctx, const char* message) noexcept {
  if (ctx != nullptr) PN_ASYNC_WAIT_CTX_set_status(ctx, PN_ASYNC_STATUS_ERR);
  return fail_static(-EINVAL, message);
}

}  // namespace

extern "C" {

void PN_RUNTIME_free(PN_RUNTIME* runtime) {
  if (runtime != nullptr && runtime->runtime->inside_own_callback()) {
    fail_static(-EBUSY,
                "PN_RUNTIME_free called from inside one of the runtime's callbacks: refused, "
                "nothing freed (free it from a thread that is not its poller)");
    return;
  }
  delete runtime;
}

int PN_RUNTIME_start(PN_RUNTIME* runtime) {
  if (runtime == nullptr) return fail_static(-EINVAL, "PN_RUNTIME_start: NULL runtime");
  return c_call([&] {
    if (!runtime->runtime->start()) return fail_static(-EBUSY, "PN_RUNTIME_start: already started");
    return 0;
  });
}

int PN_RUNTIME_stop(PN_RUNTIME* runtime) {
  if (runtime == nullptr) return fail_static(-EINVAL, "PN_RUNTIME_stop: NULL runtime");
  return c_call([&] {
    if (!runtime->runtime->stop()) return fail_static(-EBUSY, "PN_RUNTIME_stop: not started");
    if (const std::uint64_t left = runtime->runtime->stop_left_in_flight(); left != 0) {
      const std::string message =
          "PN_RUNTIME_stop: " + std::to_string(left) +
          " request(s) still in flight after the stop timeout: left to the devices, cancelled "
          "with ERR by PN_RUNTIME_free";
      return fail(-ETIMEDOUT, message.c_str());
    }
    return 0;
  });
}

PN_RUNTIME* PN_RUNTIME_new(unsigned pollers, const PN_POLLER_OPTIONS* options) {
  return c_call_pointer<PN_RUNTIME>([&]() -> PN_RUNTIME* {
    pn::RuntimeOptions translated;
    if (pn::internal::poller_options_from_c(options, translated.poller) != 0) return nullptr;
    translated.pollers = pollers;
    translated.poller.cpu = -1;
    return pn::to_c_handle(std::make_unique<pn::Runtime>(std::move(translated)));
  });
}

PN_POLLER* PN_RUNTIME_get_poller(PN_RUNTIME* runtime, size_t index) {
  if (runtime == nullptr || index >= runtime->runtime->poller_count()) {
    fail_static(-EINVAL, "PN_RUNTIME_get_poller: NULL runtime, or an index past the count");
    return nullptr;
  }
  return reinterpret_cast<PN_POLLER*>(&runtime->runtime->poller(index));
}

size_t PN_RUNTIME_poller_count(const PN_RUNTIME* runtime) {
  return runtime == nullptr ? 0 : runtime->runtime->poller_count();
}

int PN_RUNTIME_add_device(PN_RUNTIME* runtime, const PN_DEVICE_METHOD* method, void* device) {
  if (runtime == nullptr || method == nullptr)
    return fail_static(-EINVAL, "PN_RUNTIME_add_device: NULL runtime or method table");
  return c_call([&] {
    pn::Runtime& owner = *runtime->runtime;
    pn::adopt_c_state(owner.add_device(pn::make_c_device(*method, device, owner.pollers())));
    return 0;
  });
}

size_t PN_RUNTIME_device_count(const PN_RUNTIME* runtime) {
  return runtime == nullptr ? 0 : runtime->runtime->device_count();
}

int PN_RUNTIME_submit_to(PN_RUNTIME* runtime, size_t device, PN_ASYNC_WAIT_CTX* ctx,
                         uint64_t user_data) {
  if (runtime == nullptr || ctx == nullptr || device >= runtime->runtime->device_count())
    return submit_refused(ctx,
                          "PN_RUNTIME_submit_to: NULL runtime or ctx, or a device past the count");
  return submit_result(
      runtime->runtime->device_at(device).submit(*pn::WaitCtx::from_c(ctx), user_data));
}

int PN_RUNTIME_submit(PN_RUNTIME* runtime, PN_ASYNC_WAIT_CTX* ctx, uint64_t user_data) {
  if (runtime == nullptr || ctx == nullptr || runtime->runtime->device_count() == 0)
    return submit_refused(ctx,
                          "PN_RUNTIME_submit: NULL runtime or ctx, or a runtime with no device");
  return submit_result(runtime->runtime->submit(*pn::WaitCtx::from_c(ctx), user_data));
}

int PN_RUNTIME_poll(PN_RUNTIME* runtime, size_t max) {
  if (runtime == nullptr) return fail_static(-EINVAL, "PN_RUNTIME_poll: NULL runtime");
  return c_call([&] {
    const size_t delivered = runtime->runtime->poll_once(std::min<size_t>(max, INT_MAX));
    return static_cast<int>(std::min<size_t>(delivered, INT_MAX));
  });
}

uint64_t PN_RUNTIME_in_flight(const PN_RUNTIME* runtime) {
  return runtime == nullptr ? 0 : runtime->runtime->in_flight();
}

}  // extern "C"
