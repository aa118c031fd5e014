// va-operator: flags and wiring only; the logic lives in the libraries under operator/.
#include <prometheus/registry.h>
#include <pthread.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "operator/controller/manager.h"
#include "operator/kube/client.h"
#include "operator/kube/kubeconfig.h"
#include "operator/runtime/clock.h"
#include "operator/runtime/health.h"
#include "operator/runtime/leader_election.h"
#include "operator/runtime/logging.h"
#include "operator/specs/render.h"

namespace {

constexpr std::string_view kUsage =
    "usage: va-operator [flags]               run the operator (reconcile VirtualAssistants)\n"
    "       va-operator --check [--kubeconfig PATH] [--context NAME]\n"
    "       va-operator render -f FILE\n"
    "       va-operator --version\n"
    "\n"
    "  render -f FILE     print the children the operator would apply for the VirtualAssistant\n"
    "                     in FILE (multi-document YAML, in apply order), without a cluster\n"
    "  --version          print the operator's version\n"
    "  --check            connect to the API server and print its version (gitVersion)\n"
    "\n"
    "flags (controller-runtime's names):\n"
    "  --kubeconfig PATH                   kubeconfig (default: $KUBECONFIG, ~/.kube/config,\n"
    "                                      then the pod's service account)\n"
    "  --context NAME                      kubeconfig context (default: its current-context)\n"
    "  --namespace NS                      watch one namespace (default: $WATCH_NAMESPACE; all)\n"
    "  --metrics-bind-address ADDR         /metrics (default :8080; 0 turns it off)\n"
    "  --health-probe-bind-address ADDR    /healthz and /readyz (default :8081; 0 off)\n"
    "  --leader-elect                      take part in Lease leader election\n"
    "  --leader-election-namespace NS      the Lease's namespace (default: $POD_NAMESPACE)\n"
    "  --leader-election-id NAME           the Lease's name (default va-operator-lock)\n"
    "  --max-concurrent-reconciles N       reconcile workers (default 4)\n"
    "  --kube-api-qps N, --kube-api-burst N  client-side rate limit (default 20, 30)\n"
    "  --zap-log-level LEVEL               debug, info, warn, error (default info)\n"
    "  --default-image-registry REG        images of VAs without spec.image.registry (va.local)\n"
    "  --default-image-tag TAG             images of VAs without spec.image.tag (" VA_VERSION ")\n";

struct Flags {
  bool version = false;
  bool check = false;
  std::optional<std::string> kubeconfig;
  std::optional<std::string> context;
  std::string watchNamespace;
  std::string metricsAddress = ":8080";
  std::string probeAddress = ":8081";
  bool leaderElect = false;
  std::string leaseNamespace;
  std::string leaseName = "va-operator-lock";
  int workers = 4;
  double qps = 20;
  int burst = 30;
  va::runtime::LogLevel logLevel = va::runtime::LogLevel::kInfo;
  va::specs::OperatorConfig config;
};

int usageError(const std::string& message) {
  std::fprintf(stderr, "va-operator: %s\n%s", message.c_str(), kUsage.data());
  return 2;
}

std::string envOr(const char* name, std::string fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : std::move(fallback);
}

std::optional<long> parseNumber(const std::string& text) {
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  const long value = std::strtol(text.c_str(), &end, 10);
  if (*end != '\0') return std::nullopt;
  return value;
}

// Parses argv into flags; returns an exit code when the program should stop right away.
std::optional<int> parseFlags(int argc, char** argv, Flags& flags) {
  flags.watchNamespace = envOr("WATCH_NAMESPACE", "");
  flags.leaseNamespace = envOr("POD_NAMESPACE", "va-system");
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const std::string_view name = arg.substr(0, arg.find('='));
    // The flag's value: after "=" or the next argument.
    const auto value = [&]() -> std::optional<std::string> {
      if (name.size() < arg.size()) return std::string(arg.substr(name.size() + 1));
      if (i + 1 < argc) return std::string(argv[++i]);
      return std::nullopt;
    };
    const auto need = [&](std::string& out) -> std::optional<int> {
      auto v = value();
      if (!v || v->empty()) return usageError(std::string(name) + " needs a value");
      out = *v;
      return std::nullopt;
    };
    const auto needInt = [&](long low, long high, long& out) -> std::optional<int> {
      std::string text;
      if (auto rc = need(text)) return rc;
      const auto n = parseNumber(text);
      if (!n || *n < low || *n > high) {
        return usageError(std::string(name) + ": \"" + text + "\" is not a number in [" +
                          std::to_string(low) + ", " + std::to_string(high) + "]");
      }
      out = *n;
      return std::nullopt;
    };
    std::optional<int> rc;
    std::string text;
    long number = 0;
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage.data(), stdout);
      return 0;
    }
    if (arg == "--version") {
      flags.version = true;
    } else if (arg == "--check") {
      flags.check = true;
    } else if (name == "--kubeconfig") {
      rc = need(text);
      flags.kubeconfig = text;
    } else if (name == "--context") {
      rc = need(text);
      flags.context = text;
    } else if (name == "--namespace") {
      rc = need(flags.watchNamespace);
    } else if (name == "--metrics-bind-address") {
      rc = need(flags.metricsAddress);
    } else if (name == "--health-probe-bind-address") {
      rc = need(flags.probeAddress);
    } else if (arg == "--leader-elect" || arg == "--leader-elect=true") {
      flags.leaderElect = true;
    } else if (arg == "--leader-elect=false") {
      flags.leaderElect = false;
    } else if (name == "--leader-election-namespace") {
      rc = need(flags.leaseNamespace);
    } else if (name == "--leader-election-id") {
      rc = need(flags.leaseName);
    } else if (name == "--max-concurrent-reconciles") {
      rc = needInt(1, 256, number);
      flags.workers = static_cast<int>(number);
    } else if (name == "--kube-api-qps") {
      rc = needInt(0, 100000, number);
      flags.qps = static_cast<double>(number);
    } else if (name == "--kube-api-burst") {
      rc = needInt(1, 100000, number);
      flags.burst = static_cast<int>(number);
    } else if (name == "--zap-log-level") {
      rc = need(text);
      const auto level = va::runtime::parseLogLevel(text);
      if (!rc && !level) rc = usageError("--zap-log-level: unknown level \"" + text + "\"");
      if (level) flags.logLevel = *level;
    } else if (name == "--default-image-registry") {
      rc = need(flags.config.defaultRegistry);
    } else if (name == "--default-image-tag") {
      rc = need(flags.config.defaultTag);
    } else {
      return usageError("unknown argument \"" + std::string(arg) + "\"");
    }
    if (rc) return rc;
  }
  return std::nullopt;
}

// `va-operator render -f FILE`: exit 0 with the YAML on stdout, or 2 with the error.
int render(int argc, char** argv) {
  if (argc == 3 && std::string_view(argv[1]) == "-f") {
    auto yaml = va::specs::renderFile(argv[2], va::specs::OperatorConfig{});
    if (!yaml) {
      std::fprintf(stderr, "va-operator: %s\n", yaml.error().message().c_str());
      return 2;
    }
    std::fputs(yaml->c_str(), stdout);
    return 0;
  }
  return usageError("render needs -f FILE");
}

va::kube::Result<va::kube::RestConfig> restConfig(const Flags& flags) {
  return flags.kubeconfig ? va::kube::loadKubeconfig(*flags.kubeconfig, flags.context)
                          : va::kube::loadDefaultConfig(flags.context);
}

int check(const Flags& flags) {
  auto config = restConfig(flags);
  if (!config) {
    std::fprintf(stderr, "va-operator: %s\n", config.error().message().c_str());
    return 1;
  }
  va::kube::ClientImpl client(std::move(*config));
  auto version = va::kube::serverVersion(client);
  if (!version) {
    std::fprintf(stderr, "va-operator: cannot reach the API server at %s: %s\n",
                 client.config().server.c_str(), version.error().toString().c_str());
    return 1;
  }
  std::printf("%s\n", version->c_str());
  return 0;
}

std::string hostName() {
  std::array<char, 256> buf{};
  if (gethostname(buf.data(), buf.size() - 1) != 0) return "va-operator";
  return buf.data();
}

// Runs the operator until SIGTERM or SIGINT (or the loss of leadership).
int run(const Flags& flags) {
  // Signals are taken by sigwait() below, so every thread started from here blocks them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto log = va::runtime::makeJsonLogger("setup", {.level = flags.logLevel});
  auto config = restConfig(flags);
  if (!config) {
    va::runtime::logError(*log, "cannot load a kubeconfig", {{"error", config.error().message()}});
    return 1;
  }
  auto registry = std::make_shared<prometheus::Registry>();
  va::kube::ClientOptions clientOptions;
  clientOptions.metrics = registry;
  clientOptions.rateLimit.qps = flags.qps;
  clientOptions.rateLimit.burst = flags.burst;
  va::kube::ClientImpl client(std::move(*config), clientOptions);
  va::runtime::SteadyClockImpl clock;

  auto health = va::runtime::HealthServer::start({.metricsBindAddress = flags.metricsAddress,
                                                  .healthProbeBindAddress = flags.probeAddress,
                                                  .registry = registry});
  if (!health) {
    va::runtime::logError(*log, "cannot serve metrics and probes",
                          {{"error", health.error().message()}});
    return 1;
  }

  const std::string identity = envOr("POD_NAME", hostName());
  va::controller::ManagerOptions options;
  options.namespace_ = flags.watchNamespace;
  options.workers = flags.workers;
  options.registry = registry;
  options.logger = va::runtime::withName(*log, "controller");
  options.reconciler.config = flags.config;
  options.reconciler.reportingInstance = identity;
  va::controller::Manager manager(client, clock, options);
  // Ready once the caches have synced. A standby replica (leader election, not leading) is
  // ready too: it is ready to take over, and a Deployment whose standby never became ready
  // could not finish a rolling update.
  std::unique_ptr<va::runtime::LeaderElector> elector;
  std::atomic<const va::runtime::LeaderElector*> electing{nullptr};  // read by the probe thread
  (*health)->addReadyzCheck("informers", [&manager, &electing]() -> va::kube::Status {
    if (manager.started()) return {};
    if (const auto* e = electing.load(); e != nullptr && !e->isLeader()) return {};
    return va::kube::Error("caches not synced yet");
  });

  std::atomic<int> exitCode{0};
  std::atomic<bool> done{false};
  const auto startManager = [&]() -> bool {
    auto started = manager.start(clock.now() + std::chrono::minutes(2));
    if (!started) {
      va::runtime::logError(*log, "cannot start", {{"error", started.error().message()}});
      exitCode = 1;
      return false;
    }
    return true;
  };

  std::thread worker;
  if (flags.leaderElect) {
    va::runtime::LeaderElectionConfig lease;
    lease.leaseNamespace = flags.leaseNamespace;
    lease.leaseName = flags.leaseName;
    lease.identity = va::runtime::defaultIdentity();
    lease.releaseOnCancel = true;
    lease.registry = registry;
    lease.logger = va::runtime::withName(*log, "leader-election");
    lease.callbacks.onStartedLeading = [&](std::stop_token stop) {
      if (!startManager()) {
        kill(getpid(), SIGTERM);
        return;
      }
      std::mutex m;
      std::condition_variable_any cv;
      std::unique_lock lock(m);
      cv.wait(lock, std::move(stop), [] { return false; });
      manager.stop();
    };
    lease.callbacks.onStoppedLeading = [&] {
      if (!done) {
        // Another replica may already be writing: stop at once rather than race it.
        va::runtime::logError(*log, "leader election lost", {{"identity", identity}});
        std::_Exit(1);
      }
    };
    auto created = va::runtime::LeaderElector::create(client, clock, std::move(lease));
    if (!created) {
      va::runtime::logError(*log, "invalid leader election",
                            {{"error", created.error().message()}});
      return 1;
    }
    elector = std::move(*created);
    electing = elector.get();
    worker = std::thread([&] { elector->run(); });
  } else if (!startManager()) {
    return exitCode;
  }

  va::runtime::logInfo(
      *log, "operator running",
      {{"namespace", flags.watchNamespace.empty() ? "(all)" : flags.watchNamespace},
       {"leaderElect", flags.leaderElect},
       {"metricsPort", (*health)->metricsPort()},
       {"healthProbePort", (*health)->healthProbePort()}});
  int signal = 0;
  sigwait(&signals, &signal);
  done = true;
  va::runtime::logInfo(*log, "shutting down", {{"signal", signal}});
  if (elector) {
    elector->stop();
    worker.join();
  }
  manager.stop();
  (*health)->stop();
  return exitCode;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::string_view(argv[1]) == "render") return render(argc - 1, argv + 1);
  Flags flags;
  if (const auto exitCode = parseFlags(argc, argv, flags)) return *exitCode;
  if (flags.version) {
    std::printf("va-operator %s\n", VA_VERSION);
    return 0;
  }
  if (flags.check) return check(flags);
  return run(flags);
}
