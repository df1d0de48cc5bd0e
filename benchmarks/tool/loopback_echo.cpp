#include "loopback_echo.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <system_error>

namespace pn::bench {
namespace {

[[noreturn]] void fail(const char* what) {
  throw std::system_error(errno, std::generic_category(), std::string("loopback echo: ") + what);
}

void no_delay(int socket) {
  const int one = 1;
  (void)::setsockopt(socket, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

}  // namespace

LoopbackEcho::LoopbackEcho() {
  clients_.fill(-1);
  servers_.fill(-1);
  const int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listener < 0) fail("socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  const auto cleanup = [&] {
    ::close(listener);
    for (int fd : clients_) {
      if (fd >= 0) ::close(fd);
    }
    for (int fd : servers_) {
      if (fd >= 0) ::close(fd);
    }
  };
  if (::bind(listener, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      ::listen(listener, kConnections) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    cleanup();
    fail("listen on 127.0.0.1");
  }
  epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
  stop_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (epoll_ < 0 || stop_ < 0) {
    cleanup();
    fail("epoll");
  }
  for (std::size_t i = 0; i < kConnections; ++i) {
    clients_[i] = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (clients_[i] < 0 ||
        ::connect(clients_[i], reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        (servers_[i] = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC)) < 0) {
      cleanup();
      fail("connect");
    }
    no_delay(clients_[i]);
    no_delay(servers_[i]);
    epoll_event interest{};
    interest.events = EPOLLIN;
    interest.data.fd = servers_[i];
    (void)::epoll_ctl(epoll_, EPOLL_CTL_ADD, servers_[i], &interest);
  }
  ::close(listener);
  epoll_event interest{};
  interest.events = EPOLLIN;
  interest.data.fd = stop_;
  (void)::epoll_ctl(epoll_, EPOLL_CTL_ADD, stop_, &interest);
  thread_ = std::thread([this] { echo_loop(); });
}

LoopbackEcho::~LoopbackEcho() {
  (void)::eventfd_write(stop_, 1);
  thread_.join();
  for (int fd : clients_) ::close(fd);
  for (int fd : servers_) ::close(fd);
  ::close(epoll_);
  ::close(stop_);
}

bool LoopbackEcho::send_message(int client) noexcept {
  static const std::array<char, kMessage> message{};
  return ::send(client, message.data(), message.size(), MSG_NOSIGNAL) ==
         static_cast<ssize_t>(message.size());
}

void LoopbackEcho::echo_loop() noexcept {
  std::array<char, 4096> buffer{};
  for (;;) {
    epoll_event events[kConnections + 1];
    const int ready = ::epoll_wait(epoll_, events, kConnections + 1, -1);
    for (int i = 0; i < ready; ++i) {
      const int fd = events[i].data.fd;
      if (fd == stop_) return;
      const ssize_t got = ::recv(fd, buffer.data(), buffer.size(), MSG_DONTWAIT);
      // Echoes what arrived, whole: the replies keep the stream's 64-byte framing.
      for (ssize_t sent = 0; got > 0 && sent < got;) {
        const ssize_t now =
            ::send(fd, buffer.data() + sent, static_cast<std::size_t>(got - sent), MSG_NOSIGNAL);
        if (now <= 0) break;
        sent += now;
      }
    }
  }
}

}  // namespace pn::bench
