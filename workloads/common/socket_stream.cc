#include "workloads/common/socket_stream.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace va::service {
namespace {

constexpr std::size_t kReadChunk = 16384;
constexpr auto kStopCheck = std::chrono::milliseconds(50);

void addressOf(const sockaddr_storage& address, std::string& ip, int& port) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET) {
    sockaddr_in v4{};
    std::memcpy(&v4, &address, sizeof(v4));
    inet_ntop(AF_INET, &v4.sin_addr, text, sizeof(text));
    port = ntohs(v4.sin_port);
  } else if (address.ss_family == AF_INET6) {
    sockaddr_in6 v6{};
    std::memcpy(&v6, &address, sizeof(v6));
    inet_ntop(AF_INET6, &v6.sin6_addr, text, sizeof(text));
    port = ntohs(v6.sin6_port);
  }
  ip = text;
}

}  // namespace

SocketStream::SocketStream(int fd, std::chrono::milliseconds readTimeout,
                           std::chrono::milliseconds writeTimeout)
    : fd_(fd), readTimeout_(readTimeout), writeTimeout_(writeTimeout) {}

bool SocketStream::waitFor(short events, std::chrono::milliseconds timeout) const {
  pollfd entry{fd_, events, 0};
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    const int ready = ::poll(&entry, 1, static_cast<int>(std::max<std::int64_t>(0, left.count())));
    if (ready > 0) return true;
    if (ready == 0) return false;
    if (errno != EINTR) return false;
  }
}

SocketStream::Fill SocketStream::fill(Clock::time_point deadline,
                                      const std::function<bool()>& giveUp) {
  for (;;) {
    // Bytes that have already arrived are read even when told to give up.
    if (giveUp && giveUp() && !waitFor(POLLIN, std::chrono::milliseconds(0))) {
      return Fill::kStopped;
    }
    const auto now = Clock::now();
    if (now >= deadline) return Fill::kTimeout;
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    if (giveUp) wait = std::min(wait, std::chrono::milliseconds(kStopCheck));
    if (!waitFor(POLLIN, std::max(wait, std::chrono::milliseconds(1)))) continue;
    if (offset_ > 0 && offset_ == buffer_.size()) {
      buffer_.clear();
      offset_ = 0;
    }
    const std::size_t before = buffer_.size();
    buffer_.resize(before + kReadChunk);
    const ssize_t got = ::recv(fd_, buffer_.data() + before, kReadChunk, 0);
    const int error = errno;
    buffer_.resize(before + static_cast<std::size_t>(std::max<ssize_t>(0, got)));
    if (got > 0) return Fill::kData;
    if (got == 0) return Fill::kClosed;
    if (error != EINTR && error != EAGAIN && error != EWOULDBLOCK) {
      failed_ = true;
      return Fill::kClosed;
    }
  }
}

std::string_view SocketStream::buffered() const {
  return std::string_view(buffer_).substr(offset_);
}

void SocketStream::beginRequest(std::size_t budget) {
  budget_ = budget;
  budgetExceeded_ = false;
  // Keep only unread bytes so that the buffer does not grow over a long connection.
  buffer_.erase(0, offset_);
  offset_ = 0;
}

bool SocketStream::is_readable() const {
  return offset_ < buffer_.size() || waitFor(POLLIN, readTimeout_);
}

bool SocketStream::is_writable() const { return waitFor(POLLOUT, writeTimeout_); }

ssize_t SocketStream::read(char* ptr, size_t size) {
  if (budget_ == 0) {
    budgetExceeded_ = true;
    return -1;
  }
  if (offset_ == buffer_.size()) {
    if (fill(Clock::now() + readTimeout_) != Fill::kData) {
      failed_ = true;
      return -1;
    }
  }
  const std::size_t count = std::min({size, buffer_.size() - offset_, budget_});
  std::memcpy(ptr, buffer_.data() + offset_, count);
  offset_ += count;
  budget_ -= count;
  return static_cast<ssize_t>(count);
}

ssize_t SocketStream::write(const char* ptr, size_t size) {
  for (;;) {
    if (!waitFor(POLLOUT, writeTimeout_)) {
      failed_ = true;
      return -1;
    }
    const ssize_t sent = ::send(fd_, ptr, size, MSG_NOSIGNAL);
    if (sent >= 0) return sent;
    if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
      failed_ = true;
      return -1;
    }
  }
}

bool SocketStream::writeAll(std::string_view data) {
  while (!data.empty()) {
    const ssize_t sent = write(data.data(), data.size());
    if (sent <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(sent));
  }
  return true;
}

void SocketStream::drainForClose(std::chrono::milliseconds maxWait, std::size_t maxBytes) {
  ::shutdown(fd_, SHUT_WR);
  const auto deadline = Clock::now() + maxWait;
  std::size_t discarded = 0;
  char sink[4096];
  while (discarded < maxBytes) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0 || !waitFor(POLLIN, left)) return;
    const ssize_t got = ::recv(fd_, sink, sizeof(sink), 0);
    if (got <= 0 && !(got < 0 && errno == EINTR)) return;
    if (got > 0) discarded += static_cast<std::size_t>(got);
  }
}

void SocketStream::get_remote_ip_and_port(std::string& ip, int& port) const {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    addressOf(address, ip, port);
  }
}

void SocketStream::get_local_ip_and_port(std::string& ip, int& port) const {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    addressOf(address, ip, port);
  }
}

}  // namespace va::service
