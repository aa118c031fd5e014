// The connection side of the HTTP server: an httplib::Stream over an accepted socket that keeps
// unread bytes between keep-alive requests, waits with poll() under deadlines, and caps how
// many bytes one request may read (head plus body, which bounds chunked bodies too).
#pragma once

#include <httplib.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace va::service {

class SocketStream : public httplib::Stream {
 public:
  using Clock = std::chrono::steady_clock;

  // Does not own the socket.
  SocketStream(int fd, std::chrono::milliseconds readTimeout,
               std::chrono::milliseconds writeTimeout);

  enum class Fill { kData, kClosed, kTimeout, kStopped };
  // Reads what has arrived into the buffer, waiting until the deadline. With `giveUp`, stops
  // waiting (kStopped) once it returns true, asking it a few times a second.
  Fill fill(Clock::time_point deadline, const std::function<bool()>& giveUp = nullptr);
  // Bytes received but not yet read.
  [[nodiscard]] std::string_view buffered() const;

  // Starts a request: read() returns at most `budget` more bytes until the next call.
  void beginRequest(std::size_t budget);
  [[nodiscard]] bool budgetExceeded() const { return budgetExceeded_; }
  // A read or write failed or timed out: the connection must not be reused.
  [[nodiscard]] bool failed() const { return failed_; }

  // Writes all bytes or fails (write timeout per wait).
  bool writeAll(std::string_view data);
  // Sends FIN, reads and discards what the client still sends for a while, then leaves the
  // socket for the caller to close: closing with unread bytes would reset the connection
  // and the client could lose the response it was sent.
  void drainForClose(std::chrono::milliseconds maxWait, std::size_t maxBytes);

  // httplib::Stream
  [[nodiscard]] bool is_readable() const override;
  [[nodiscard]] bool is_writable() const override;
  ssize_t read(char* ptr, size_t size) override;
  ssize_t write(const char* ptr, size_t size) override;
  using httplib::Stream::write;
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  [[nodiscard]] socket_t socket() const override { return fd_; }

 private:
  [[nodiscard]] bool waitFor(short events, std::chrono::milliseconds timeout) const;

  int fd_;
  std::chrono::milliseconds readTimeout_;
  std::chrono::milliseconds writeTimeout_;
  std::string buffer_;
  std::size_t offset_ = 0;  // first unread byte in buffer_
  std::size_t budget_ = 0;
  bool budgetExceeded_ = false;
  bool failed_ = false;
};

}  // namespace va::service
