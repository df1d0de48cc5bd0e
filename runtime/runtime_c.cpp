// The runtime's C API: option translation and exception-to-error-code boundaries.
#include "pollnotify/runtime.h"

#include <chrono>
#include <exception>
#include <new>
#include <string>

#include "pollnotify/runtime.hpp"

struct pn_runtime_st {
  pn::Runtime runtime;
};

namespace {

thread_local std::string last_error;

void set_error(const char* what) { last_error = what; }

bool translate(const PN_RUNTIME_OPTIONS& in, pn::RuntimeOptions& out) {
  if (in.policy < PN_POLL_BUSY || in.policy > PN_POLL_EXTERNAL) {
    set_error("PN_RUNTIME_OPTIONS.policy is not a PN_POLL_* value");
    return false;
  }
  if (in.instances == 0) {
    set_error("PN_RUNTIME_OPTIONS.instances must be > 0");
    return false;
  }
  out.pollers = in.pollers;
  out.poller.policy = static_cast<pn::PollPolicy>(in.policy);
  out.poller.interval = std::chrono::nanoseconds(in.timed_interval_ns);
  if (out.poller.max_idle_interval < out.poller.interval)
    out.poller.max_idle_interval = out.poller.interval;
  pn::DeviceInstanceOptions instance;
  instance.latency = pn::LatencyModel::parse(in.latency != nullptr ? in.latency : "zero");
  instance.capacity = in.capacity;
  instance.error_rate = in.error_rate;
  instance.refuse_rate = in.refuse_rate;
  out.device.instances.assign(in.instances, instance);
  out.device.seed = in.seed;
  return true;
}

}  // namespace

extern "C" {

void PN_RUNTIME_OPTIONS_init(PN_RUNTIME_OPTIONS* options) {
  if (options == nullptr) return;
  *options = PN_RUNTIME_OPTIONS{1, PN_POLL_ADAPTIVE, 10'000, 1, "zero", 1024, 0.0, 0.0, 1};
}

PN_RUNTIME* PN_RUNTIME_new(const PN_RUNTIME_OPTIONS* options) {
  PN_RUNTIME_OPTIONS defaults;
  PN_RUNTIME_OPTIONS_init(&defaults);
  try {
    pn::RuntimeOptions translated;
    if (!translate(options != nullptr ? *options : defaults, translated)) return nullptr;
    last_error.clear();
    return new pn_runtime_st{pn::Runtime(std::move(translated))};
  } catch (const std::exception& error) {
    set_error(error.what());
    return nullptr;
  }
}

void PN_RUNTIME_free(PN_RUNTIME* runtime) {
  if (runtime != nullptr && runtime->runtime.inside_own_callback()) {
    set_error("PN_RUNTIME_free called from inside one of the runtime's callbacks: refused, "
              "nothing freed (free it from a thread that is not its poller)");
    return;
  }
  delete runtime;
}

int PN_RUNTIME_start(PN_RUNTIME* runtime) {
  if (runtime == nullptr) return 0;
  try {
    return runtime->runtime.start() ? 1 : 0;
  } catch (const std::exception& error) {
    set_error(error.what());
    return 0;
  }
}

int PN_RUNTIME_stop(PN_RUNTIME* runtime) {
  if (runtime == nullptr) return 0;
  try {
    return runtime->runtime.stop() ? 1 : 0;
  } catch (const std::exception& error) {
    set_error(error.what());
    return 0;
  }
}

int PN_RUNTIME_submit(PN_RUNTIME* runtime, PN_ASYNC_WAIT_CTX* ctx, unsigned long long user_data) {
  if (runtime == nullptr || ctx == nullptr) {
    if (ctx != nullptr) PN_ASYNC_WAIT_CTX_set_status(ctx, PN_ASYNC_STATUS_ERR);
    return PN_ASYNC_STATUS_ERR;
  }
  switch (runtime->runtime.submit(*pn::WaitCtx::from_c(ctx), user_data)) {
    case pn::SubmitResult::kAccepted:
      return PN_ASYNC_STATUS_OK;
    case pn::SubmitResult::kRetry:
      return PN_ASYNC_STATUS_EAGAIN;
    case pn::SubmitResult::kFailed:
      return PN_ASYNC_STATUS_ERR;
  }
  return PN_ASYNC_STATUS_ERR;
}

size_t PN_RUNTIME_poll(PN_RUNTIME* runtime, size_t max) {
  if (runtime == nullptr) return 0;
  try {
    return runtime->runtime.poll_once(max);
  } catch (const std::exception& error) {
    set_error(error.what());
    return 0;
  }
}

unsigned long long PN_RUNTIME_in_flight(const PN_RUNTIME* runtime) {
  return runtime == nullptr ? 0 : runtime->runtime.in_flight();
}

const char* PN_RUNTIME_last_error(void) { return last_error.c_str(); }

}  // extern "C"
