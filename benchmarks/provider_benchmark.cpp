// Digest throughput and latency through the pollnotify OpenSSL provider, driven by libcrypto's own
// async API: synchronous, OpenSSL async jobs in fd mode, and in callback mode, for several job
// counts. Prints a Markdown table (scripts/provider_bench.sh puts it into docs/).
// Usage: provider_benchmark PROVIDER_DIR [seconds-per-row]
#include <openssl/async.h>
#include <openssl/evp.h>
#include <openssl/provider.h>
#include <poll.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "latency_histogram.hpp"
#include "pollnotify/clock.hpp"
#include "pollnotify/mpsc_queue.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Shared {
  const EVP_MD* md;
  Clock::time_point until;
  pn::bench::LatencyHistogram latency;  // written by the application thread only (jobs run on it)
  std::uint64_t digests = 0;
};

int digest_loop(void* raw) {
  Shared& shared = **static_cast<Shared**>(raw);
  unsigned char data[64] = {1, 2, 3};
  unsigned char out[32];
  unsigned int size = 0;
  while (Clock::now() < shared.until) {
    const std::uint64_t start = pn::CheapClock::now_ns();
    if (EVP_Digest(data, sizeof data, out, &size, shared.md, nullptr) != 1) return 0;
    shared.latency.record(pn::CheapClock::now_ns() - start);
    ++shared.digests;
    data[0] = out[0];
  }
  return 1;
}

enum class Mode { kSync, kFd, kCallback };

struct Row {
  const char* mode;
  std::size_t jobs;
  double per_second;
  std::uint64_t p50, p99;
};

Row run(Mode mode, std::size_t jobs, const EVP_MD* md, double seconds) {
  Shared shared{md,
                Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(seconds)),
                {}};
  Shared* shared_ptr = &shared;
  const auto start = Clock::now();
  if (mode == Mode::kSync) {
    digest_loop(&shared_ptr);
  } else {
    struct Slot {
      ASYNC_JOB* job = nullptr;
      ASYNC_WAIT_CTX* waitctx = ASYNC_WAIT_CTX_new();
      int ret = 0;
      bool finished = false;
      std::size_t index = 0;
      pn::MpscQueue<std::size_t>* ready = nullptr;
    };
    pn::MpscQueue<std::size_t> ready(jobs);
    std::vector<Slot> slots(jobs);
    std::size_t running = 0;
    auto step = [&](Slot& slot) {
      if (ASYNC_start_job(&slot.job, slot.waitctx, &slot.ret, digest_loop, &shared_ptr,
                          sizeof shared_ptr) != ASYNC_PAUSE) {
        slot.finished = true;
        --running;
      }
    };
    for (std::size_t j = 0; j < jobs; ++j) {
      slots[j].index = j;
      slots[j].ready = &ready;
      if (mode == Mode::kCallback) {
        ASYNC_WAIT_CTX_set_callback(
            slots[j].waitctx,
            [](void* raw) {
              auto* s = static_cast<Slot*>(raw);
              return s->ready->try_push(s->index) ? 1 : 0;
            },
            &slots[j]);
      }
      ++running;
      step(slots[j]);
    }
    while (running != 0) {
      if (mode == Mode::kCallback) {
        for (Slot& slot : slots) {
          if (!slot.finished && ASYNC_WAIT_CTX_get_status(slot.waitctx) == ASYNC_STATUS_EAGAIN)
            step(slot);
        }
        std::size_t index = 0;
        if (ready.pop_wait(index, std::chrono::milliseconds(100))) step(slots[index]);
      } else {
        std::vector<pollfd> fds;
        std::vector<Slot*> owners;
        for (Slot& slot : slots) {
          OSSL_ASYNC_FD fd = -1;
          std::size_t count = 1;
          if (slot.finished || ASYNC_WAIT_CTX_get_all_fds(slot.waitctx, &fd, &count) != 1 ||
              count != 1)
            continue;
          fds.push_back({fd, POLLIN, 0});
          owners.push_back(&slot);
        }
        if (::poll(fds.data(), fds.size(), 1000) <= 0) continue;
        for (std::size_t i = 0; i < fds.size(); ++i) {
          if (fds[i].revents & POLLIN) step(*owners[i]);
        }
      }
    }
    for (Slot& slot : slots) ASYNC_WAIT_CTX_free(slot.waitctx);
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  const char* name = mode == Mode::kSync ? "synchronous"
                     : mode == Mode::kFd ? "fd (eventfd + poll)"
                                         : "callback";
  return {name, mode == Mode::kSync ? 0 : jobs, static_cast<double>(shared.digests) / elapsed,
          shared.latency.quantile(0.5), shared.latency.quantile(0.99)};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: provider_benchmark PROVIDER_DIR [seconds-per-row]\n");
    return 2;
  }
  const double seconds = argc > 2 ? std::atof(argv[2]) : 1.0;
  if (!(seconds > 0)) {
    std::fprintf(stderr, "provider_benchmark: seconds must be > 0\n");
    return 2;
  }
  OSSL_PROVIDER_set_default_search_path(nullptr, argv[1]);
  OSSL_PROVIDER* pollnotify = OSSL_PROVIDER_load(nullptr, "pollnotify");
  OSSL_PROVIDER* fallback = OSSL_PROVIDER_load(nullptr, "default");
  EVP_MD* md = EVP_MD_fetch(nullptr, "SHA2-256", "provider=pollnotify");
  if (pollnotify == nullptr || fallback == nullptr || md == nullptr) {
    std::fprintf(stderr, "provider_benchmark: cannot load the pollnotify provider from %s\n",
                 argv[1]);
    return 1;
  }
  pn::CheapClock::calibrate();
  std::vector<Row> rows;
  rows.push_back(run(Mode::kSync, 1, md, seconds));
  for (Mode mode : {Mode::kFd, Mode::kCallback}) {
    for (std::size_t jobs : {1, 4, 16, 64}) {
      rows.push_back(run(mode, jobs, md, seconds));
    }
  }
  std::printf(
      "| notification | async jobs | digests/s | latency p50 | latency p99 "
      "|\n|---|---:|---:|---:|---:|\n");
  for (const Row& row : rows) {
    std::printf("| %s | %zu | %.0f | %.1f us | %.1f us |\n", row.mode, row.jobs, row.per_second,
                static_cast<double>(row.p50) / 1e3, static_cast<double>(row.p99) / 1e3);
  }
  EVP_MD_free(md);
  OSSL_PROVIDER_unload(pollnotify);
  OSSL_PROVIDER_unload(fallback);
  ASYNC_cleanup_thread();
  return 0;
}
