// The informer against the real local cluster ($KUBECONFIG): memory per cached object (RSS
// growth once 10,000 ConfigMaps are cached) and the time to list and sync them, with a plain
// paginated list() of the same objects as the same-run baseline. Each figure is the median of
// `runs` runs, a fresh informer each time. Prints one JSON line on stdout; progress on stderr.
//   informer_bench [--objects=10000] [--runs=5] [--threads=8]
#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "operator/kube/client.h"
#include "operator/kube/kubeconfig.h"
#include "operator/runtime/informer.h"

namespace {

using nlohmann::json;
using va::kube::ClientImpl;
using va::kube::resourcePath;
using Seconds = std::chrono::duration<double>;

constexpr std::string_view kSelector = "bench=informer";

long rssBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6)) * 1024;  // "... kB"
  }
  return -1;
}

// Returns freed heap to the system first, so that RSS shows what is held rather than what the
// allocator kept from the transient list responses.
long settledRss() {
  malloc_trim(0);
  return rssBytes();
}

// Bytes the allocator has handed out and not got back: the cache's own size, without the
// fragmentation and allocator slack that RSS also counts.
long heapInUse() { return static_cast<long>(mallinfo2().uordblks); }

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

int flag(int argc, char** argv, std::string_view name, int fallback) {
  const std::string prefix = "--" + std::string(name) + "=";
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.substr(0, prefix.size()) == prefix) return std::atoi(argv[i] + prefix.size());
  }
  return fallback;
}

[[noreturn]] void fail(const std::string& message) {
  std::cerr << "informer_bench: " << message << "\n";
  std::exit(1);
}

// Creates `count` small labelled ConfigMaps with `threads` concurrent writers.
void createConfigMaps(ClientImpl& client, const std::string& ns, int count, int threads) {
  std::atomic<int> next{0};
  std::atomic<int> failures{0};
  std::string firstError;
  std::mutex errorMutex;
  std::vector<std::thread> writers;
  for (int t = 0; t < threads; ++t) {
    writers.emplace_back([&] {
      for (int i = next++; i < count; i = next++) {
        const std::string name = "cm-" + std::to_string(i);
        const json object{{"apiVersion", "v1"},
                          {"kind", "ConfigMap"},
                          {"metadata", {{"name", name}, {"labels", {{"bench", "informer"}}}}},
                          {"data", {{"index", std::to_string(i)}, {"greeting", "hello"}}}};
        auto created = client.create(resourcePath("", "v1", "configmaps", ns), object);
        if (!created && !created.error().isAlreadyExists()) {
          ++failures;
          const std::lock_guard lock(errorMutex);
          if (firstError.empty()) firstError = created.error().toString();
        }
      }
    });
  }
  for (auto& writer : writers) writer.join();
  if (failures > 0) fail(std::to_string(failures.load()) + " creates failed, e.g. " + firstError);
}

}  // namespace

int main(int argc, char** argv) {
  const int objects = flag(argc, argv, "objects", 10000);
  const int runs = flag(argc, argv, "runs", 5);
  const int threads = flag(argc, argv, "threads", 8);
  const char* kubeconfig = std::getenv("KUBECONFIG");
  if (kubeconfig == nullptr || *kubeconfig == '\0') fail("KUBECONFIG is not set");
  auto config = va::kube::loadKubeconfig(kubeconfig);
  if (!config) fail("cannot load $KUBECONFIG: " + config.error().message());

  va::kube::ClientOptions options;
  options.rateLimit.qps = 0;  // the benchmark measures the server and the cache, not a limiter
  options.maxIdleConnections = static_cast<std::size_t>(threads) + 2;
  options.requestTimeout = std::chrono::seconds(120);
  ClientImpl client(*config, options);

  std::random_device device;
  const std::string ns = "va-bench-" + std::to_string(device() % 1000000);
  if (auto created = client.create(
          "/api/v1/namespaces",
          json{{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns}}}});
      !created) {
    fail("cannot create namespace: " + created.error().toString());
  }
  struct DeleteNamespace {
    ClientImpl& client;
    std::string ns;
    ~DeleteNamespace() {
      auto removed = client.remove(resourcePath("", "v1", "namespaces", "", ns));
      if (!removed)
        std::cerr << "cannot delete namespace " << ns << ": " << removed.error().toString() << "\n";
    }
  } cleanup{client, ns};

  std::cerr << "creating " << objects << " ConfigMaps in " << ns << " with " << threads
            << " threads\n";
  const auto createStart = std::chrono::steady_clock::now();
  createConfigMaps(client, ns, objects, threads);
  const double createSeconds = Seconds(std::chrono::steady_clock::now() - createStart).count();

  const std::string collection = resourcePath("", "v1", "configmaps", ns);
  const std::string listPath = va::kube::withQuery(collection, "labelSelector", kSelector);
  std::vector<double> listSeconds;
  std::vector<double> syncSeconds;
  std::vector<double> rssPerObject;
  std::vector<double> heapPerObject;
  std::size_t jsonBytes = 0;
  va::runtime::SteadyClockImpl clock;
  for (int run = 0; run < runs; ++run) {
    {
      const auto start = std::chrono::steady_clock::now();
      auto listed = client.list(listPath);
      listSeconds.push_back(Seconds(std::chrono::steady_clock::now() - start).count());
      if (!listed) fail("list failed: " + listed.error().toString());
      if (listed->at("items").size() != static_cast<std::size_t>(objects)) {
        fail("list returned " + std::to_string(listed->at("items").size()) + " items");
      }
    }

    const long before = settledRss();
    const long heapBefore = heapInUse();
    const auto start = std::chrono::steady_clock::now();
    va::runtime::Informer informer(client, clock,
                                   {.path = collection, .labelSelector = std::string(kSelector)});
    informer.run();
    if (!informer.waitForSync(clock.now() + std::chrono::minutes(5))) {
      fail("the informer did not sync: " + informer.stats().lastError);
    }
    syncSeconds.push_back(Seconds(std::chrono::steady_clock::now() - start).count());
    const long after = settledRss();
    const long heapAfter = heapInUse();
    if (informer.store().size() != static_cast<std::size_t>(objects)) {
      fail("the informer holds " + std::to_string(informer.store().size()) + " objects");
    }
    rssPerObject.push_back(static_cast<double>(after - before) / objects);
    heapPerObject.push_back(static_cast<double>(heapAfter - heapBefore) / objects);
    if (run == 0) {
      for (const auto& object : informer.store().list()) jsonBytes += object->dump().size();
    }
    std::cerr << "run " << run + 1 << "/" << runs << ": list " << listSeconds.back()
              << " s, list-and-sync " << syncSeconds.back() << " s, RSS growth "
              << rssPerObject.back() << " B/object, heap growth " << heapPerObject.back()
              << " B/object\n";
    informer.stop();
  }

  const double list = median(listSeconds);
  const double sync = median(syncSeconds);
  const json result{
      {"benchmark", "informer"},
      {"objects", objects},
      {"runs", runs},
      {"create_seconds", createSeconds},
      {"create_threads", threads},
      {"list_seconds", list},
      {"list_and_sync_seconds", sync},
      {"list_and_sync_over_list", list > 0 ? sync / list : 0},
      {"rss_growth_bytes_per_object", median(rssPerObject)},
      {"heap_growth_bytes_per_object", median(heapPerObject)},
      {"cached_json_bytes_per_object", static_cast<double>(jsonBytes) / objects},
  };
  std::cout << result.dump() << std::endl;
  return 0;
}
