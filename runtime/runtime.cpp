#include "pollnotify/runtime.hpp"

#include <unistd.h>

#include <stdexcept>
#include <string>
#include <thread>

namespace pn {

Runtime::Runtime(RuntimeOptions options) : options_(std::move(options)) {
  if (options_.pollers == 0 || options_.pollers > kMaxPollers) {
    throw std::invalid_argument("RuntimeOptions::pollers must be in [1, " +
                                std::to_string(kMaxPollers) + "] (Runtime::kMaxPollers)");
  }
  std::vector<Poller*> raw;
  for (std::size_t i = 0; i < options_.pollers; ++i) {
    PollerOptions poller_options = options_.poller;
    poller_options.cpu =
        options_.poller_cpus.empty() ? -1 : options_.poller_cpus[i % options_.poller_cpus.size()];
    poller_options.name = "pn-poller-" + std::to_string(i);
    pollers_.push_back(std::make_unique<Poller>(poller_options));
    raw.push_back(pollers_.back().get());
  }
  device_ = std::make_unique<SimDevice>(options_.device, raw);
}

Runtime::~Runtime() {
  for (auto& poller : pollers_) {
    if (poller->running()) poller->stop();
  }
  device_.reset();   // cancels what is left in the device (ERR completions into the rings)
  pollers_.clear();  // each poller delivers what is left in its rings
}

bool Runtime::start() {
  if (started_) return false;
  std::size_t started_pollers = 0;
  try {
    for (; started_pollers < pollers_.size(); ++started_pollers) {
      pollers_[started_pollers]->start();  // false for external: nothing to start
    }
    device_->start();
  } catch (...) {
    device_->stop();
    for (std::size_t i = 0; i < started_pollers; ++i) pollers_[i]->stop();
    throw;
  }
  started_ = true;
  started_pid_ = ::getpid();
  return true;
}

bool Runtime::stop() {
  if (!started_) return false;
  if (inside_own_callback()) {
    throw std::logic_error(
        "Runtime::stop called from inside one of the runtime's callbacks would wait for itself");
  }
  // Drain: every accepted request reaches its callback before the threads end. Not in a forked
  // child, where no thread would deliver the requests inherited from the parent.
  while (::getpid() == started_pid_ && in_flight() != 0) {
    if (options_.poller.policy == PollPolicy::kExternal) {
      if (poll_once() == 0) std::this_thread::yield();
    } else {
      std::this_thread::yield();
    }
  }
  device_->stop();
  for (auto& poller : pollers_) poller->stop();
  started_ = false;
  return true;
}

bool Runtime::inside_own_callback() const noexcept {
  for (const auto& poller : pollers_) {
    if (poller->consuming_on_this_thread()) return true;
  }
  return false;
}

std::size_t Runtime::instance_for(const WaitCtx& ctx) const noexcept {
  // Fibonacci hashing of the address: contexts spread evenly, each always on the same instance.
  const auto bits = reinterpret_cast<std::uintptr_t>(&ctx) >> 4;
  return static_cast<std::size_t>((bits * 0x9E3779B97F4A7C15ULL) >> 32) % device_->instance_count();
}

SubmitResult Runtime::submit(WaitCtx& ctx, std::uint64_t user_data) noexcept {
  return device_->submit(instance_for(ctx), ctx, user_data);
}

std::size_t Runtime::poll_once(std::size_t max) {
  std::size_t delivered = 0;
  for (auto& poller : pollers_) delivered += poller->poll_once(max);
  return delivered;
}

std::uint64_t Runtime::in_flight() const noexcept {
  std::uint64_t total = device_->in_flight();
  for (const auto& poller : pollers_) total += poller->in_flight();
  return total;
}

std::uint64_t Runtime::in_flight(std::size_t poller) const noexcept {
  if (poller >= pollers_.size()) return 0;
  std::uint64_t total = pollers_[poller]->in_flight();
  for (std::size_t i = poller; i < device_->instance_count(); i += pollers_.size())
    total += device_->in_flight(i);
  return total;
}

RuntimeStats Runtime::stats() const {
  RuntimeStats stats;
  for (const auto& poller : pollers_) {
    const PollerStats s = poller->stats();
    stats.pollers.push_back(s);
    stats.total += s;
  }
  stats.device = device_->stats();
  return stats;
}

}  // namespace pn
