// The load driver of hack/bench/short_term_mem.sh: keeps THREADS kept-alive HTTP connections to
// va-short-term-mem busy for SECONDS and prints "ops_per_second p50_ms p99_ms errors".
//   va-bench-short-term-mem URL read|update THREADS SECONDS CONVERSATIONS
// read:   GET /v1/conversations/{id}/context of CONVERSATIONS conversations (prepared first)
// update: one turn = POST .../turns + PUT .../context (the context read, a turn appended), each
//         thread on conversations of its own (no waiting): the latency is the pair's.
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

struct Target {
  std::string host;
  int port = 0;
};

Target parse(const std::string& url) {
  const std::string rest = url.substr(url.find("://") + 3);
  const std::size_t colon = rest.rfind(':');
  return {rest.substr(0, colon), std::stoi(rest.substr(colon + 1))};
}

std::string conversationId(int n) { return "bench-" + std::to_string(n); }

// One turn: begin, append, commit. False on any error.
bool turn(httplib::Client& client, const std::string& id, int n) {
  const auto begun =
      client.Post("/v1/conversations/" + id + "/turns", R"({"wait_ms":5000})", "application/json");
  if (!begun || begun->status != 200) return false;
  json body = json::parse(begun->body, nullptr, false);
  if (body.is_discarded()) return false;
  json context = body["context"];
  const std::int64_t sequence = body["sequence"].get<std::int64_t>();
  context["last_sequence"] = sequence;
  context["turns"].push_back({{"sequence", sequence},
                              {"message_id", "m-" + std::to_string(n)},
                              {"user_text", "what's the weather in Paris tomorrow"},
                              {"intent", "weather"},
                              {"reply", "Tomorrow in Paris: 18 degrees, light rain."}});
  context["slots"]["city"] = "Paris";
  const auto committed =
      client.Put("/v1/conversations/" + id + "/context",
                 json{{"lease", body["lease"]}, {"context", context}}.dump(), "application/json");
  return committed && committed->status == 200;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s URL read|update THREADS SECONDS CONVERSATIONS\n", argv[0]);
    return 2;
  }
  const Target target = parse(argv[1]);
  const std::string mode = argv[2];
  const int threads = std::atoi(argv[3]);
  const int seconds = std::atoi(argv[4]);
  const int conversations = std::max(std::atoi(argv[5]), threads);

  if (mode == "read") {
    httplib::Client client(target.host, target.port);
    for (int c = 0; c < conversations; ++c) {
      if (!turn(client, conversationId(c), 0)) {
        std::fprintf(stderr, "cannot prepare conversation %d\n", c);
        return 1;
      }
    }
  }

  std::mutex mutex;
  std::vector<double> latencies;
  std::atomic<long> errors{0};
  const auto deadline = Clock::now() + std::chrono::seconds(seconds);
  const auto started = Clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      httplib::Client client(target.host, target.port);
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);
      std::minstd_rand random(static_cast<unsigned>(t) + 1);
      std::vector<double> mine;
      int n = 0;
      while (Clock::now() < deadline) {
        const auto begin = Clock::now();
        bool ok = false;
        if (mode == "read") {
          const int c = static_cast<int>(random() % static_cast<unsigned>(conversations));
          const auto res = client.Get("/v1/conversations/" + conversationId(c) + "/context");
          ok = res && res->status == 200;
        } else {
          // Thread t owns conversations t, t + threads, ...: no two threads share one.
          const int per = conversations / threads;
          const int c = t + threads * (n % std::max(per, 1));
          ok = turn(client, "u" + conversationId(c), n);
        }
        ++n;
        if (!ok) ++errors;
        mine.push_back(std::chrono::duration<double, std::milli>(Clock::now() - begin).count());
      }
      const std::lock_guard lock(mutex);
      latencies.insert(latencies.end(), mine.begin(), mine.end());
    });
  }
  for (std::thread& worker : workers) worker.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
  std::sort(latencies.begin(), latencies.end());
  const auto at = [&](double q) {
    if (latencies.empty()) return 0.0;
    return latencies[std::min(latencies.size() - 1,
                              static_cast<std::size_t>(q * static_cast<double>(latencies.size())))];
  };
  std::printf("%.1f %.3f %.3f %ld\n", static_cast<double>(latencies.size()) / elapsed, at(0.50),
              at(0.99), errors.load());
  return 0;
}
