// An httplib server on an ephemeral loopback port for unit tests of HTTP clients: register
// handlers on server(), then start(); the destructor stops it. Header-only (link httplib).
//   LocalHttpServer local;
//   local.server().Get("/x", [](const httplib::Request&, httplib::Response& res) { ... });
//   ASSERT_TRUE(local.start());
//   client.get(local.url() + "/x");
#pragma once

#include <httplib.h>

#include <string>
#include <thread>

namespace va::testing {

class LocalHttpServer {
 public:
  LocalHttpServer() = default;
  ~LocalHttpServer() { stop(); }
  LocalHttpServer(const LocalHttpServer&) = delete;
  LocalHttpServer& operator=(const LocalHttpServer&) = delete;

  httplib::Server& server() { return server_; }

  // Binds 127.0.0.1:0 and serves on a thread; true once a probe request was answered (httplib's
  // stop() does not wake an accept loop that has not started yet).
  [[nodiscard]] bool start() {
    port_ = server_.bind_to_any_port("127.0.0.1");
    if (port_ <= 0) return false;
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    httplib::Client probe("127.0.0.1", port_);
    probe.set_connection_timeout(10);
    return static_cast<bool>(probe.Get("/probe"));
  }

  void stop() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

}  // namespace va::testing
