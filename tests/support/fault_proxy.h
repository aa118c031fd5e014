// A test-only HTTP proxy between a client and the real API server that injects faults: it
// answers with a chosen status (429 with Retry-After, 500), delays answers, and cuts open watch
// streams. The client speaks plain HTTP to the proxy on 127.0.0.1; the proxy speaks HTTPS with
// the admin client certificate to the API server.
//   FaultProxy proxy(upstreamFromKubeconfig(config));
//   proxy.failNext(2, 429, /*retryAfterSeconds=*/1);
//   proxy.cutWatches();
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace va::testing {

struct Upstream {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string caPem;
  std::string clientCertPem;
  std::string clientKeyPem;
};

// One request the proxy saw, for assertions on timing (Retry-After) and counts.
struct SeenRequest {
  std::chrono::steady_clock::time_point at;
  std::string method;
  std::string target;  // path and query
  int status = 0;      // what the proxy answered (200 for a streamed watch)
  bool injected = false;
};

class FaultProxy {
 public:
  explicit FaultProxy(Upstream upstream);
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  [[nodiscard]] int port() const;
  [[nodiscard]] std::string url() const;

  // The next `count` requests whose target contains `match` get `status` without reaching the
  // API server; Retry-After is set when retryAfterSeconds > 0.
  void failNext(int count, int status, int retryAfterSeconds = 0, const std::string& match = "");
  // The next `count` requests whose target contains `match` are held for `delay` first.
  void delayNext(int count, std::chrono::milliseconds delay, const std::string& match = "");
  // Closes every watch stream open now (the client sees the connection drop mid-stream).
  void cutWatches();
  // Refuses (503 after closing) new requests while true; models an API server outage.
  void setDown(bool down);

  [[nodiscard]] std::vector<SeenRequest> seen() const;
  [[nodiscard]] int openWatches() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace va::testing
