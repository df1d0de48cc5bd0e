// The runtime's C API: NULL checks and exception-to-error boundaries over pn::Runtime.
#include <memory>
#include <new>
#include <string>

#include "pollnotify/c_device.hpp"
#include "pollnotify/internal/last_error.hpp"
#include "pollnotify/runtime.h"
#include "pollnotify/runtime.hpp"

struct pn_runtime_st {
  std::unique_ptr<pn::Runtime> runtime;
};

using pn::internal::c_boundary;
using pn::internal::set_last_error;

namespace pn {

PN_RUNTIME* to_c_handle(std::unique_ptr<Runtime> runtime) noexcept {
  if (runtime == nullptr) return nullptr;
  auto* handle = new (std::nothrow) pn_runtime_st{std::move(runtime)};
  if (handle == nullptr) set_last_error("out of memory");
  return handle;
}

Runtime* from_c_handle(PN_RUNTIME* runtime) noexcept {
  return runtime == nullptr ? nullptr : runtime->runtime.get();
}

}  // namespace pn

namespace {

int to_status(pn::SubmitResult result) noexcept {
  switch (result) {
    case pn::SubmitResult::kAccepted:
      return PN_ASYNC_STATUS_OK;
    case pn::SubmitResult::kRetry:
      return PN_ASYNC_STATUS_EAGAIN;
    case pn::SubmitResult::kFailed:
      return PN_ASYNC_STATUS_ERR;
  }
  return PN_ASYNC_STATUS_ERR;
}

}  // namespace

extern "C" {

void PN_RUNTIME_free(PN_RUNTIME* runtime) {
  if (runtime != nullptr && runtime->runtime->inside_own_callback()) {
    set_last_error(
        "PN_RUNTIME_free called from inside one of the runtime's callbacks: refused, nothing "
        "freed (free it from a thread that is not its poller)");
    return;
  }
  delete runtime;
}

int PN_RUNTIME_start(PN_RUNTIME* runtime) {
  if (runtime == nullptr) return 0;
  return c_boundary(0, [&] { return runtime->runtime->start() ? 1 : 0; });
}

int PN_RUNTIME_stop(PN_RUNTIME* runtime) {
  if (runtime == nullptr) return 0;
  return c_boundary(0, [&] {
    if (!runtime->runtime->stop()) return 0;
    if (const std::uint64_t left = runtime->runtime->stop_left_in_flight(); left != 0) {
      const std::string message =
          "PN_RUNTIME_stop: " + std::to_string(left) +
          " request(s) still in flight after the stop timeout: left to the devices, cancelled "
          "with ERR by PN_RUNTIME_free";
      set_last_error(message.c_str());
      return 0;
    }
    return 1;
  });
}

PN_RUNTIME* PN_RUNTIME_new_with_pollers(unsigned pollers, const PN_POLLER_OPTIONS* options) {
  return c_boundary<PN_RUNTIME*>(nullptr, [&]() -> PN_RUNTIME* {
    // The poller's own C constructor validates and translates the options.
    PN_POLLER* probe = PN_POLLER_new(options);
    if (probe == nullptr) return nullptr;
    pn::RuntimeOptions translated;
    translated.pollers = pollers;
    translated.poller = reinterpret_cast<pn::Poller*>(probe)->options();
    PN_POLLER_free(probe);
    translated.poller.cpu = -1;
    return pn::to_c_handle(std::make_unique<pn::Runtime>(std::move(translated)));
  });
}

PN_POLLER* PN_RUNTIME_get_poller(PN_RUNTIME* runtime, size_t index) {
  if (runtime == nullptr || index >= runtime->runtime->poller_count()) return nullptr;
  return reinterpret_cast<PN_POLLER*>(&runtime->runtime->poller(index));
}

size_t PN_RUNTIME_poller_count(const PN_RUNTIME* runtime) {
  return runtime == nullptr ? 0 : runtime->runtime->poller_count();
}

int PN_RUNTIME_add_device(PN_RUNTIME* runtime, const PN_DEVICE_METHOD* method, void* device) {
  if (runtime == nullptr || method == nullptr) {
    set_last_error("PN_RUNTIME_add_device: NULL runtime or method table");
    return 0;
  }
  return c_boundary(0, [&] {
    pn::Runtime& owner = *runtime->runtime;
    pn::adopt_c_state(owner.add_device(pn::make_c_device(*method, device, owner.pollers())));
    return 1;
  });
}

size_t PN_RUNTIME_device_count(const PN_RUNTIME* runtime) {
  return runtime == nullptr ? 0 : runtime->runtime->device_count();
}

int PN_RUNTIME_submit_to(PN_RUNTIME* runtime, size_t device, PN_ASYNC_WAIT_CTX* ctx,
                         unsigned long long user_data) {
  if (runtime == nullptr || ctx == nullptr || device >= runtime->runtime->device_count()) {
    if (ctx != nullptr) PN_ASYNC_WAIT_CTX_set_status(ctx, PN_ASYNC_STATUS_ERR);
    return PN_ASYNC_STATUS_ERR;
  }
  return to_status(
      runtime->runtime->device_at(device).submit(*pn::WaitCtx::from_c(ctx), user_data));
}

int PN_RUNTIME_submit(PN_RUNTIME* runtime, PN_ASYNC_WAIT_CTX* ctx, unsigned long long user_data) {
  if (runtime == nullptr || ctx == nullptr) {
    if (ctx != nullptr) PN_ASYNC_WAIT_CTX_set_status(ctx, PN_ASYNC_STATUS_ERR);
    return PN_ASYNC_STATUS_ERR;
  }
  return to_status(runtime->runtime->submit(*pn::WaitCtx::from_c(ctx), user_data));
}

size_t PN_RUNTIME_poll(PN_RUNTIME* runtime, size_t max) {
  if (runtime == nullptr) return 0;
  return c_boundary<size_t>(0, [&] { return runtime->runtime->poll_once(max); });
}

unsigned long long PN_RUNTIME_in_flight(const PN_RUNTIME* runtime) {
  return runtime == nullptr ? 0 : runtime->runtime->in_flight();
}

const char* PN_RUNTIME_last_error(void) { return PN_get_last_error(); }

}  // extern "C"
