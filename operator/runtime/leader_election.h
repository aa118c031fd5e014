// Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection package does
// it with a LeaseLock: whoever holds an unexpired Lease leads; others take it over only once it
// has gone unrenewed for leaseDuration by their own clock (the time they saw it change, never
// the writer's timestamps). All timing goes through the injected Clock.
//   LeaderElectionConfig config{.leaseNamespace = "va-system", .leaseName = "va-operator-lock"};
//   config.callbacks.onStartedLeading = [&](std::stop_token stop) { runControllers(stop); };
//   config.callbacks.onStoppedLeading = [] { /* the process decides, e.g. exit */ };
//   auto elector = LeaderElector::create(client, clock, std::move(config));
//   if (!elector) return elector.error();
//   (*elector)->run();   // blocks; another thread calls (*elector)->stop() on SIGTERM
#pragma once

#include <spdlog/logger.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <stop_token>
#include <string>
#include <thread>

#include "operator/kube/client.h"
#include "operator/kube/result.h"
#include "operator/runtime/clock.h"

namespace prometheus {
class Gauge;
class Registry;
}  // namespace prometheus

namespace va::runtime {

struct LeaderCallbacks {
  // Runs on a thread of its own once this process holds the lease. `stop` is requested when
  // leadership ends; return soon after. Required.
  std::function<void(std::stop_token stop)> onStartedLeading{};
  // Called on run()'s thread when leadership ends. After a loss it is called at once (while
  // onStartedLeading may still be returning), so that the process can fence itself quickly;
  // after stop() it is called once onStartedLeading has returned and the lease is released.
  // Required.
  std::function<void()> onStoppedLeading{};
  // Called on run()'s thread when a different identity (this one included) is seen holding
  // the lease. Optional; must be quick.
  std::function<void(const std::string& identity)> onNewLeader{};
};

struct LeaderElectionConfig {
  std::string leaseNamespace{};
  std::string leaseName{};
  // Who we are in spec.holderIdentity; empty: defaultIdentity().
  std::string identity{};
  // How long a lease stays valid after its holder was last seen renewing it.
  Clock::Duration leaseDuration = std::chrono::seconds(15);
  // How long the leader keeps retrying a renewal before it gives leadership up.
  Clock::Duration renewDeadline = std::chrono::seconds(10);
  // Pause between attempts to acquire or renew.
  Clock::Duration retryPeriod = std::chrono::seconds(2);
  // Acquire attempts wait retryPeriod * (1 + jitterFactor * r), r uniform in [0, 1)
  // (client-go's JitterFactor); 0 makes them exactly retryPeriod apart.
  double jitterFactor = 1.2;
  // When leadership ends (stop() or a loss), write the lease with an empty holder and
  // leaseDurationSeconds 1 so that a successor takes over at its next attempt. Only safe when
  // onStartedLeading's work has finished, which run() waits for before it releases.
  bool releaseOnCancel = false;
  // After a loss, run() goes back to waiting for the lease instead of returning.
  bool reenterAfterLoss = false;
  LeaderCallbacks callbacks{};
  // Where leader_election_master_status{name=<leaseName>} is registered; none when null.
  std::shared_ptr<prometheus::Registry> registry{};
  // Where progress and errors are logged; nothing is logged when null.
  std::shared_ptr<spdlog::logger> logger{};
};

// "<hostname>_<random UUID>", as controller-runtime makes its default identity.
std::string defaultIdentity();

// One participant in the election. Thread-safe: run() on one thread, the rest from any.
// Calls to the API server run on a helper thread so that a call that hangs cannot keep this
// process leading past renewDeadline; the client's own timeout ends such a call later.
class LeaderElector {
 public:
  // Checks the config as client-go does: leaseDuration > renewDeadline > 1.2 * retryPeriod,
  // leaseDuration of at least a second, a lease name and namespace, both required callbacks.
  // `client` and `clock` must outlive the elector.
  static kube::Result<std::unique_ptr<LeaderElector>> create(kube::Client& client, Clock& clock,
                                                             LeaderElectionConfig config);

  // Call only after run() has returned (or was never called). Waits for an API call still in
  // flight (bounded by the client's request timeout).
  ~LeaderElector();
  LeaderElector(const LeaderElector&) = delete;
  LeaderElector& operator=(const LeaderElector&) = delete;

  // Blocks: tries to acquire the lease every retryPeriod (jittered) and, once it holds it,
  // starts onStartedLeading and renews every retryPeriod. Returns after stop(), or after
  // leadership was lost unless reenterAfterLoss. Call once.
  void run();

  // Makes run() end leadership (stop requested, work joined, lease released when
  // releaseOnCancel, onStoppedLeading) and return. Returns at once; safe before run().
  void stop();

  // Whether onStartedLeading's work may run now.
  [[nodiscard]] bool isLeader() const;
  // The holder this elector last saw in the lease ("" before the first look or when released).
  [[nodiscard]] std::string leader() const;
  [[nodiscard]] const std::string& identity() const { return config_.identity; }

  // True when the elector has nothing to do until its clock reaches a later time: run() waits
  // on the clock and no API call is pending. Tests with a fake clock advance it only then.
  [[nodiscard]] bool waitingForClock() const;

 private:
  // The fields of a Lease's spec that the election reads and writes (client-go's
  // LeaderElectionRecord).
  struct Record {
    std::string holderIdentity;
    int leaseDurationSeconds = 0;
    std::string acquireTime;  // RFC 3339 with microseconds (metav1.MicroTime)
    std::string renewTime;
    int leaseTransitions = 0;
    bool operator==(const Record&) const = default;
  };
  using Lock = std::unique_lock<std::mutex>;
  enum class Ended { kStopped, kLost };

  LeaderElector(kube::Client& client, Clock& clock, LeaderElectionConfig config);

  // run()'s thread. Each returns early when stop() is called.
  bool acquire(Lock& lock);  // false: stopped
  Ended lead(Lock& lock);    // holds leadership until lost or stopped
  Ended renewUntilLost(Lock& lock);
  // Runs `call` on the API thread and waits for its result; nullopt when `deadline` passed or
  // (if `stoppable`) stop() was called first, the call then finishing in the background.
  std::optional<bool> callApi(Lock& lock, std::function<bool()> call,
                              std::optional<Clock::TimePoint> deadline, bool stoppable);
  // Waits on the clock until `deadline`, stop(), or the API thread's answer.
  void waitLocked(Lock& lock, Clock::TimePoint deadline);
  void sleepLocked(Lock& lock, Clock::TimePoint until);  // returns early on stop()
  void reportNewLeader(Lock& lock);
  void setLeading(Lock& lock, bool leading);
  Clock::Duration jittered(Clock::Duration period);

  // The API thread: one call at a time.
  void apiLoop();
  bool tryAcquireOrRenew();
  bool release();
  bool updateLease(const Record& record);
  void setObserved(const Record& record);
  [[nodiscard]] bool isLeaseValid(Clock::TimePoint now) const;
  [[nodiscard]] bool observedHolderIsUs() const;
  [[nodiscard]] std::string microTimeNow() const;

  kube::Client& client_;
  Clock& clock_;
  LeaderElectionConfig config_;
  const std::string leasePath_;
  const std::string leasesPath_;
  // Wall time for renewTime/acquireTime, advanced by clock_ from the moment of construction so
  // that a fake clock drives it too.
  const std::chrono::system_clock::time_point wallAnchor_;
  const Clock::TimePoint clockAnchor_;
  prometheus::Gauge* masterStatus_ = nullptr;
  std::mt19937_64 random_;

  // Touched by the API thread only (client-go's observed state and LeaseLock's cached lease).
  std::optional<nlohmann::json> lease_;
  Record observedRecord_;
  std::optional<Record> observedRawRecord_;  // as last read from the server
  Clock::TimePoint observedTime_{};

  mutable std::mutex mutex_;
  std::condition_variable wake_;     // run(): stop(), or an API answer
  std::condition_variable apiWake_;  // the API thread: a call to make, or exit
  bool stopRequested_ = false;
  bool leading_ = false;
  std::string observedHolder_;  // copy of observedRecord_.holderIdentity for other threads
  std::string reportedLeader_;
  // The API call slot: `apiCall_` waits for the API thread; `apiBusy_` from submission until
  // the answer is in `apiAnswer_`; `apiPending_` until run() has taken that answer or gave up.
  std::function<bool()> apiCall_;
  bool apiBusy_ = false;
  bool apiPending_ = false;
  std::optional<bool> apiAnswer_;
  bool apiExit_ = false;
  // run()'s clock wait, for waitingForClock().
  std::optional<Clock::TimePoint> clockWaitUntil_;
  std::thread apiThread_;
};

}  // namespace va::runtime
