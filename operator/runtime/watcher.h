// List-then-watch of one collection, written as an explicit state machine after kube-rs's
// watcher: advanceWatcher() is the pure transition (state + outcome -> next state + action) and
// Watcher is the driver that performs each action with a kube::Client and feeds its outcome back.
//   Watcher watcher(client, clock, {.path = kube::resourcePath("", "v1", "configmaps", "ns")},
//                   [&](WatchEvent&& event) { cache.apply(std::move(event)); });
//   std::thread thread([&] { watcher.run(); });
//   ...
//   watcher.stop();
//   thread.join();
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
#include <string>
#include <vector>

#include "operator/kube/client.h"
#include "operator/runtime/clock.h"

namespace va::runtime {

// Waits after a failing list or watch grow from `initial` by `factor` up to `max`; client-go's
// reflector defaults (800 ms to 30 s, reset after 2 min without failure, jitter 1.0).
struct BackoffPolicy {
  Clock::Duration initial = std::chrono::milliseconds(800);
  Clock::Duration max = std::chrono::seconds(30);
  double factor = 2.0;
  // A failure this long after the previous one starts again from `initial`.
  Clock::Duration resetAfter = std::chrono::minutes(2);
  // Each wait is stretched by a random fraction in [0, jitter) of itself (applied by Watcher).
  double jitter = 1.0;
};

enum class WatcherPhase {
  kListing,   // next: list the collection (at start, and after 410 Gone)
  kWatching,  // a watch from resourceVersion is open or about to be (re)opened
  kBackoff,   // waiting after a failure; then list again or re-watch, see relistAfterBackoff
};

struct WatcherState {
  WatcherPhase phase = WatcherPhase::kListing;
  // The newest version seen (list, event or bookmark): a watch resumes from here.
  std::string resourceVersion{};
  // In kBackoff: whether the wait ends in a list (the failure was a list's) or a re-watch.
  bool relistAfterBackoff = true;
  // Consecutive failures so far, the backoff exponent; lastFailure decides when it resets.
  int failures = 0;
  std::optional<Clock::TimePoint> lastFailure{};
};

// What the last action produced, as the driver saw it.
struct WatcherOutcome {
  enum class Kind {
    kListed,          // the list succeeded at resourceVersion
    kListFailed,      // the list failed (any error)
    kEvent,           // an ADDED/MODIFIED/DELETED/BOOKMARK event at resourceVersion (may be "")
    kWatchEnded,      // the server ended the watch normally (its timeoutSeconds passed)
    kWatchFailed,     // the watch did not open, dropped, went silent or sent a non-410 ERROR
    kGone,            // HTTP 410 or an ERROR event with code 410: resourceVersion is too old
    kBackoffElapsed,  // the wait asked for by a kWait action is over
  };
  Kind kind = Kind::kBackoffElapsed;
  std::string resourceVersion{};
  Clock::TimePoint at{};                   // when it happened; drives the backoff reset
  std::optional<int> retryAfterSeconds{};  // failures: the server's Retry-After, if any
};

// What the driver does next.
struct WatcherAction {
  enum class Kind {
    kList,      // list the collection; deliver a replace-all
    kWatch,     // open a watch from resourceVersion
    kContinue,  // keep reading the open watch
    kWait,      // wait `delay` (before jitter), then report kBackoffElapsed
  };
  Kind kind = Kind::kList;
  std::string resourceVersion{};
  Clock::Duration delay{};
};

struct WatcherStep {
  WatcherState state{};
  WatcherAction action{};
};

// The transition function; pure. An outcome that cannot happen in a phase (a driver bug) leaves
// the state as it is and repeats the phase's action.
[[nodiscard]] WatcherStep advanceWatcher(const WatcherState& state, const WatcherOutcome& outcome,
                                         const BackoffPolicy& policy);

// The action that starts `state`: kList, kWatch from its version, or a kWait of the backoff.
[[nodiscard]] WatcherAction initialAction(const WatcherState& state, const BackoffPolicy& policy);

// `delay` stretched by jitter * unit, unit in [0, 1).
[[nodiscard]] Clock::Duration jittered(Clock::Duration delay, double jitter, double unit);

// One change handed to the sink. A (re)list is a kReplace of the whole collection so that
// objects deleted while no watch was open are noticed; a watch yields single objects.
struct WatchEvent {
  enum class Type { kReplace, kAdded, kModified, kDeleted };
  Type type = Type::kReplace;
  nlohmann::json object{};              // kAdded, kModified, kDeleted
  std::vector<nlohmann::json> items{};  // kReplace; each with apiVersion and kind filled in
  std::string resourceVersion{};        // kReplace: the list's version
};

using WatchSink = std::function<void(WatchEvent&&)>;

struct WatcherOptions {
  // The collection, e.g. resourcePath("apps", "v1", "deployments", ns); no namespace: all.
  std::string path{};
  // Scope both the list and the watch, e.g. "app.kubernetes.io/managed-by=va-operator".
  std::string labelSelector{};
  std::string fieldSelector{};
  BackoffPolicy backoff{};
  // Each watch asks the server to end it after a random time in [min, 2 min) (client-go: 5 min),
  // so that the re-watches of many clients spread out.
  std::chrono::seconds minWatchTimeout{300};
  // Failures and relists are logged here at warn/info; none when null.
  std::shared_ptr<spdlog::logger> logger{};
};

// Counters since construction, for tests, health checks and benchmarks.
struct WatcherStats {
  int lists = 0;     // successful lists (the first one and each relist)
  int watches = 0;   // watch requests opened
  int gone = 0;      // 410 Gone answers
  int failures = 0;  // failed lists and watches (each followed by a backoff)
  std::string lastError{};
};

// Thread-safe: run() on one thread; stop(), stats() and state() from any.
class Watcher {
 public:
  // `client`, `clock` and whatever `sink` refers to must outlive the watcher.
  Watcher(kube::Client& client, Clock& clock, WatcherOptions options, WatchSink sink);
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

  // Runs the state machine from `start` (a default state lists first) until stop(). The sink is
  // called on this thread.
  void run(WatcherState start = {});

  // Ends run() soon: an open watch is cancelled and a backoff wait cut short; a list in flight
  // finishes first (within the client's request timeout). Final: run() cannot be resumed.
  void stop();

  [[nodiscard]] WatcherStats stats() const;
  [[nodiscard]] WatcherState state() const;

  // The list and watch paths the watcher requests (watch with this timeoutSeconds).
  [[nodiscard]] std::string listPath() const;
  [[nodiscard]] std::string watchPath(const std::string& resourceVersion,
                                      std::chrono::seconds timeout) const;

 private:
  // Each performs one action and returns the next; events met on the way go to the sink and,
  // one by one, through the state machine, so that state_ always holds the newest version.
  WatcherAction list();
  WatcherAction watch(const std::string& resourceVersion);
  WatcherAction wait(Clock::Duration delay);
  // Applies the transition under mutex_.
  WatcherAction advance(const WatcherOutcome& outcome);
  WatcherAction fail(WatcherOutcome::Kind kind, const kube::ApiError& error);
  WatcherAction gone(const kube::ApiError& error);
  [[nodiscard]] bool stopping() const;

  kube::Client& client_;
  Clock& clock_;
  const WatcherOptions options_;
  const WatchSink sink_;
  kube::CancelToken cancel_;
  std::mt19937_64 random_;  // only run()'s thread uses it

  mutable std::mutex mutex_;
  std::condition_variable wake_;  // stop()
  bool stopping_ = false;
  WatcherState state_;
  WatcherStats stats_;
};

}  // namespace va::runtime
