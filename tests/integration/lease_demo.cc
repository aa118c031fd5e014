// va-lease-demo: one leader-election candidate, run as a separate process by
// leader_election_test.cc. While it leads it does nothing but record the fact: it appends
// "<unix-time-ns> <identity> started|stopped" to the events file (one write, then fsync). SIGTERM
// or SIGINT ends it cleanly: the work stops, the lease is released, the process exits 0.
//   va-lease-demo --namespace ns --lease name --identity a --events /tmp/x/events [--jitter 0]
//                 [--lease-duration-ms 15000] [--renew-deadline-ms 10000] [--retry-period-ms 2000]
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>

#include "operator/kube/client.h"
#include "operator/kube/kubeconfig.h"
#include "operator/runtime/clock.h"
#include "operator/runtime/leader_election.h"
#include "operator/runtime/logging.h"

namespace {

using namespace va;

int usage(const std::string& why) {
  std::fprintf(stderr,
               "va-lease-demo: %s\nusage: va-lease-demo --namespace NS --lease NAME --identity ID "
               "--events FILE [--jitter F] [--lease-duration-ms N] [--renew-deadline-ms N] "
               "[--retry-period-ms N]\n",
               why.c_str());
  return 2;
}

// Appends one line with a single write(2) and makes it durable before returning.
void appendEvent(int fd, const std::string& identity, const char* what) {
  const auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  const std::string line = std::to_string(now) + " " + identity + " " + what + "\n";
  if (write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size()) || fsync(fd) != 0) {
    std::perror("va-lease-demo: writing the events file");
    std::_Exit(3);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> flags = {{"--jitter", "1.2"},
                                              {"--lease-duration-ms", "15000"},
                                              {"--renew-deadline-ms", "10000"},
                                              {"--retry-period-ms", "2000"}};
  for (int i = 1; i < argc; i += 2) {
    if (i + 1 >= argc) return usage(std::string("missing value for ") + argv[i]);
    flags[argv[i]] = argv[i + 1];
  }
  for (const char* required : {"--namespace", "--lease", "--identity", "--events"}) {
    if (flags[required].empty()) return usage(std::string(required) + " is required");
  }

  // Signals go to the thread that waits for them, never to a random thread.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto restConfig = kube::loadDefaultConfig();
  if (!restConfig) return usage("cannot load the kubeconfig: " + restConfig.error().message());
  kube::ClientOptions clientOptions;
  clientOptions.requestTimeout = std::chrono::seconds(5);
  kube::ClientImpl client(std::move(*restConfig), clientOptions);
  runtime::SteadyClockImpl clock;

  const int events =
      open(flags["--events"].c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (events < 0) return usage("cannot open " + flags["--events"]);

  const std::string identity = flags["--identity"];
  runtime::LeaderElectionConfig config;
  config.leaseNamespace = flags["--namespace"];
  config.leaseName = flags["--lease"];
  config.identity = identity;
  config.leaseDuration = std::chrono::milliseconds(std::atol(flags["--lease-duration-ms"].c_str()));
  config.renewDeadline = std::chrono::milliseconds(std::atol(flags["--renew-deadline-ms"].c_str()));
  config.retryPeriod = std::chrono::milliseconds(std::atol(flags["--retry-period-ms"].c_str()));
  config.jitterFactor = std::atof(flags["--jitter"].c_str());
  config.releaseOnCancel = true;
  config.reenterAfterLoss = true;
  config.logger = runtime::makeJsonLogger("lease-demo." + identity);
  config.callbacks.onStartedLeading = [&](const std::stop_token& stop) {
    appendEvent(events, identity, "started");
    std::mutex mutex;
    std::condition_variable_any stopped;
    std::unique_lock lock(mutex);
    stopped.wait(lock, stop, [] { return false; });
    appendEvent(events, identity, "stopped");
  };
  config.callbacks.onStoppedLeading = [] {};

  auto elector = runtime::LeaderElector::create(client, clock, std::move(config));
  if (!elector) return usage(elector.error().message());

  std::thread signalWaiter([&] {
    int signal = 0;
    sigwait(&signals, &signal);
    (*elector)->stop();
  });
  // With reenterAfterLoss, run() returns only after stop(), so the waiter is done by then.
  (*elector)->run();
  signalWaiter.join();
  close(events);
  return 0;
}
