// pollnotify-bench's loopback echo (--device uring:echo): TCP connections over 127.0.0.1 whose
// server ends a thread of this process echoes. A request sends 64 bytes on a client end and
// receives the 64-byte echo through io_uring; the echo arrives while the requester waits, so
// its notification path (a poller's callback, io_uring_wait_cqe, an eventfd in epoll) is what
// differs between mechanisms.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace pn::bench {

class LoopbackEcho {
 public:
  static constexpr std::size_t kMessage = 64;
  static constexpr std::size_t kConnections = 8;

  // Throws std::system_error when a socket cannot be set up.
  LoopbackEcho();
  ~LoopbackEcho();
  LoopbackEcho(const LoopbackEcho&) = delete;
  LoopbackEcho& operator=(const LoopbackEcho&) = delete;

  // Requesting thread: the client end for the next request (round robin). Every message has the
  // same size, so any pending receive on a connection may take any echo sent on it.
  int next_client() noexcept { return clients_[next_++ % kConnections]; }
  // Requesting thread: sends one message on `client`; false if the kernel refused it.
  static bool send_message(int client) noexcept;

 private:
  void echo_loop() noexcept;

  std::array<int, kConnections> clients_{};
  std::array<int, kConnections> servers_{};
  int epoll_ = -1;
  int stop_ = -1;  // an eventfd: the echo thread's stop signal
  std::size_t next_ = 0;
  std::thread thread_;
};

}  // namespace pn::bench
