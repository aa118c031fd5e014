#include "operator/runtime/leader_election.h"

#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <exception>
#include <limits>
#include <utility>

#include "operator/kube/events.h"
#include "operator/kube/resource_path.h"
#include "operator/runtime/logging.h"

namespace va::runtime {
namespace {

using nlohmann::json;

// client-go's leaderelection.JitterFactor, which its config check uses whatever the jitter.
constexpr double kClientGoJitterFactor = 1.2;

std::string hostname() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "unknown";
  return name;
}

std::string randomUuid() {
  std::random_device device;
  std::uniform_int_distribution<unsigned> nibble(0, 15);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string uuid;
  for (int i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) uuid += '-';
    unsigned value = nibble(device);
    if (i == 12) value = 4;                 // version 4
    if (i == 16) value = 8 | (value & 3U);  // RFC 4122 variant
    uuid += kHex[value];
  }
  return uuid;
}

std::string stringField(const json& object, const char* key) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int intField(const json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || !it->is_number_integer()) return 0;
  const auto value = it->get<std::int64_t>();
  return static_cast<int>(std::clamp<std::int64_t>(value, std::numeric_limits<int>::min(),
                                                   std::numeric_limits<int>::max()));
}

template <typename Callback, typename... Args>
void invokeCallback(const std::shared_ptr<spdlog::logger>& logger, const char* name,
                    const Callback& callback, Args&&... args) {
  if (!callback) return;
  try {
    callback(std::forward<Args>(args)...);
  } catch (const std::exception& e) {
    if (logger)
      logError(*logger, "leader election callback threw",
               {{"callback", name}, {"error", e.what()}});
  } catch (...) {
    if (logger) logError(*logger, "leader election callback threw", {{"callback", name}});
  }
}

}  // namespace

std::string defaultIdentity() { return hostname() + "_" + randomUuid(); }

kube::Result<std::unique_ptr<LeaderElector>> LeaderElector::create(kube::Client& client,
                                                                   Clock& clock,
                                                                   LeaderElectionConfig config) {
  const auto invalid = [](const std::string& why) {
    return kube::Error("leader election config: " + why);
  };
  if (config.leaseNamespace.empty()) return invalid("leaseNamespace is required");
  if (config.leaseName.empty()) return invalid("leaseName is required");
  if (config.identity.empty()) config.identity = defaultIdentity();
  if (config.leaseDuration < std::chrono::seconds(1)) {
    return invalid("leaseDuration must be at least 1s (the Lease counts whole seconds)");
  }
  if (config.leaseDuration <= config.renewDeadline) {
    return invalid("leaseDuration must be greater than renewDeadline");
  }
  if (config.retryPeriod <= Clock::Duration::zero()) return invalid("retryPeriod must be positive");
  if (std::chrono::duration<double>(config.renewDeadline) <=
      std::chrono::duration<double>(config.retryPeriod) * kClientGoJitterFactor) {
    return invalid("renewDeadline must be greater than 1.2 * retryPeriod");
  }
  if (!std::isfinite(config.jitterFactor) || config.jitterFactor < 0) {
    return invalid("jitterFactor must be a finite number >= 0");
  }
  if (!config.callbacks.onStartedLeading) return invalid("onStartedLeading is required");
  if (!config.callbacks.onStoppedLeading) return invalid("onStoppedLeading is required");
  return std::unique_ptr<LeaderElector>(new LeaderElector(client, clock, std::move(config)));
}

LeaderElector::LeaderElector(kube::Client& client, Clock& clock, LeaderElectionConfig config)
    : client_(client),
      clock_(clock),
      config_(std::move(config)),
      leasePath_(kube::resourcePath("coordination.k8s.io", "v1", "leases", config_.leaseNamespace,
                                    config_.leaseName)),
      leasesPath_(
          kube::resourcePath("coordination.k8s.io", "v1", "leases", config_.leaseNamespace)),
      wallAnchor_(std::chrono::system_clock::now()),
      clockAnchor_(clock.now()),
      random_(std::random_device{}()) {
  if (config_.registry) {
    masterStatus_ = &prometheus::BuildGauge()
                         .Name("leader_election_master_status")
                         .Help(
                             "Gauge of if the reporting system is master of the relevant lease, "
                             "0 indicates backup, 1 indicates master. 'name' is the string used "
                             "to identify the lease. Please make sure to group by name.")
                         .Register(*config_.registry)
                         .Add({{"name", config_.leaseName}});
    masterStatus_->Set(0);
  }
  apiThread_ = std::thread([this] { apiLoop(); });
}

LeaderElector::~LeaderElector() {
  {
    const std::lock_guard lock(mutex_);
    apiExit_ = true;
    stopRequested_ = true;
  }
  apiWake_.notify_all();
  apiThread_.join();
}

void LeaderElector::run() {
  Lock lock(mutex_);
  for (;;) {
    if (!acquire(lock)) break;
    if (lead(lock) == Ended::kStopped || !config_.reenterAfterLoss) break;
  }
  // stop() during an acquire attempt may have let that attempt make us the holder.
  if (config_.releaseOnCancel && stopRequested_) {
    (void)callApi(
        lock, [this] { return release(); }, clock_.now() + config_.renewDeadline, false);
  }
}

void LeaderElector::stop() {
  {
    const std::lock_guard lock(mutex_);
    stopRequested_ = true;
  }
  wake_.notify_all();
}

bool LeaderElector::isLeader() const {
  const std::lock_guard lock(mutex_);
  return leading_;
}

std::string LeaderElector::leader() const {
  const std::lock_guard lock(mutex_);
  return observedHolder_;
}

bool LeaderElector::waitingForClock() const {
  const std::lock_guard lock(mutex_);
  return clockWaitUntil_.has_value() && !apiBusy_ && !apiPending_ &&
         *clockWaitUntil_ > clock_.now();
}

bool LeaderElector::acquire(Lock& lock) {
  const json lease = config_.leaseNamespace + "/" + config_.leaseName;
  if (config_.logger) {
    logInfo(*config_.logger, "attempting to acquire leader lease", {{"lease", lease}});
  }
  for (;;) {
    if (stopRequested_) return false;
    const auto acquired = callApi(
        lock, [this] { return tryAcquireOrRenew(); }, std::nullopt, true);
    reportNewLeader(lock);
    if (!acquired) return false;
    if (*acquired) {
      if (config_.logger) {
        logInfo(*config_.logger, "successfully acquired lease",
                {{"lease", lease}, {"identity", config_.identity}});
      }
      return true;
    }
    sleepLocked(lock, clock_.now() + jittered(config_.retryPeriod));
  }
}

LeaderElector::Ended LeaderElector::lead(Lock& lock) {
  setLeading(lock, true);
  std::jthread work([started = config_.callbacks.onStartedLeading,
                     logger = config_.logger](const std::stop_token& stop) {
    invokeCallback(logger, "onStartedLeading", started, stop);
  });
  const Ended ended = renewUntilLost(lock);
  setLeading(lock, false);
  work.request_stop();

  lock.unlock();
  if (ended == Ended::kLost) {
    if (config_.logger) {
      logError(*config_.logger, "leader election lost",
               {{"lease", config_.leaseNamespace + "/" + config_.leaseName}});
    }
    invokeCallback(config_.logger, "onStoppedLeading", config_.callbacks.onStoppedLeading);
  }
  work.join();
  lock.lock();

  if (config_.releaseOnCancel) {
    const auto released = callApi(
        lock, [this] { return release(); }, clock_.now() + config_.renewDeadline, false);
    reportNewLeader(lock);
    if (config_.logger && !(released && *released)) {
      logError(*config_.logger, "could not release the lease; it expires on its own",
               {{"lease", config_.leaseNamespace + "/" + config_.leaseName}});
    }
  }
  if (ended == Ended::kStopped) {
    lock.unlock();
    invokeCallback(config_.logger, "onStoppedLeading", config_.callbacks.onStoppedLeading);
    lock.lock();
  }
  return ended;
}

LeaderElector::Ended LeaderElector::renewUntilLost(Lock& lock) {
  for (;;) {
    sleepLocked(lock, clock_.now() + config_.retryPeriod);
    if (stopRequested_) return Ended::kStopped;
    // client-go's renew loop: retry every retryPeriod until renewDeadline from the round's start.
    const Clock::TimePoint roundDeadline = clock_.now() + config_.renewDeadline;
    for (;;) {
      const auto renewed = callApi(
          lock, [this] { return tryAcquireOrRenew(); }, roundDeadline, true);
      reportNewLeader(lock);
      if (stopRequested_) return Ended::kStopped;
      if (renewed && *renewed) break;
      // Stricter than client-go, which retries until the deadline even then: a lease seen held
      // by someone else is lost now.
      const bool takenOver = !observedHolder_.empty() && observedHolder_ != config_.identity;
      if (!renewed || takenOver || clock_.now() >= roundDeadline) {
        if (config_.logger) {
          logError(*config_.logger, "failed to renew lease",
                   {{"lease", config_.leaseNamespace + "/" + config_.leaseName},
                    {"holder", observedHolder_},
                    {"reason", takenOver ? "held by another identity" : "renewDeadline passed"}});
        }
        return Ended::kLost;
      }
      sleepLocked(lock, std::min(clock_.now() + config_.retryPeriod, roundDeadline));
      if (stopRequested_) return Ended::kStopped;
    }
  }
}

std::optional<bool> LeaderElector::callApi(Lock& lock, std::function<bool()> call,
                                           std::optional<Clock::TimePoint> deadline,
                                           bool stoppable) {
  const auto giveUp = [&] {
    return (stoppable && stopRequested_) || (deadline && clock_.now() >= *deadline);
  };
  const auto wait = [&] {
    if (deadline) {
      waitLocked(lock, *deadline);
    } else {
      wake_.wait(lock);
    }
  };
  while (apiBusy_) {  // a call given up on earlier is still running
    if (giveUp()) return std::nullopt;
    wait();
  }
  apiCall_ = std::move(call);
  apiBusy_ = true;
  apiPending_ = true;
  apiAnswer_.reset();
  apiWake_.notify_one();
  while (!apiAnswer_) {
    if (giveUp()) {
      apiPending_ = false;
      return std::nullopt;
    }
    wait();
  }
  apiPending_ = false;
  const bool answer = *apiAnswer_;
  apiAnswer_.reset();
  return answer;
}

void LeaderElector::waitLocked(Lock& lock, Clock::TimePoint deadline) {
  clockWaitUntil_ = deadline;
  clock_.waitUntil(wake_, lock, deadline);
  clockWaitUntil_.reset();
}

void LeaderElector::sleepLocked(Lock& lock, Clock::TimePoint until) {
  while (!stopRequested_ && clock_.now() < until) waitLocked(lock, until);
}

void LeaderElector::reportNewLeader(Lock& lock) {
  if (observedHolder_ == reportedLeader_) return;
  reportedLeader_ = observedHolder_;
  if (reportedLeader_.empty()) return;
  const std::string leader = reportedLeader_;
  if (config_.logger) logInfo(*config_.logger, "new leader elected", {{"identity", leader}});
  lock.unlock();
  invokeCallback(config_.logger, "onNewLeader", config_.callbacks.onNewLeader, leader);
  lock.lock();
}

void LeaderElector::setLeading(Lock& /*lock*/, bool leading) {
  leading_ = leading;
  if (masterStatus_ != nullptr) masterStatus_->Set(leading ? 1 : 0);
}

Clock::Duration LeaderElector::jittered(Clock::Duration period) {
  if (config_.jitterFactor <= 0) return period;
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const double extra = static_cast<double>(period.count()) * config_.jitterFactor * unit(random_);
  return period + Clock::Duration(static_cast<Clock::Duration::rep>(extra));
}

void LeaderElector::apiLoop() {
  Lock lock(mutex_);
  for (;;) {
    apiWake_.wait(lock, [&] { return apiCall_ != nullptr || apiExit_; });
    if (!apiCall_) return;
    const std::function<bool()> call = std::move(apiCall_);
    apiCall_ = nullptr;
    lock.unlock();
    bool answer = false;
    try {
      answer = call();
    } catch (const std::exception& e) {
      if (config_.logger) {
        logError(*config_.logger, "leader election API call threw", {{"error", e.what()}});
      }
    }
    lock.lock();
    apiAnswer_ = answer;
    apiBusy_ = false;
    wake_.notify_all();
  }
}

// client-go's tryAcquireOrRenew, step by step.
bool LeaderElector::tryAcquireOrRenew() {
  const Clock::TimePoint now = clock_.now();
  const std::string nowText = microTimeNow();
  Record desired{
      config_.identity,
      static_cast<int>(
          std::chrono::duration_cast<std::chrono::seconds>(config_.leaseDuration).count()),
      nowText, nowText, 0};

  // 1. The leader renews with the lease it holds, without reading it first.
  if (observedHolderIsUs() && isLeaseValid(now)) {
    desired.acquireTime = observedRecord_.acquireTime;
    desired.leaseTransitions = observedRecord_.leaseTransitions;
    if (updateLease(desired)) {
      setObserved(desired);
      return true;
    }
  }

  // 2. Read the lease, creating it if there is none.
  auto got = client_.get(leasePath_);
  if (!got) {
    if (!got.error().isNotFound()) {
      if (config_.logger) {
        logError(*config_.logger, "error retrieving the lease",
                 {{"error", got.error().toString()}});
      }
      return false;
    }
    json spec = {{"holderIdentity", desired.holderIdentity},
                 {"leaseDurationSeconds", desired.leaseDurationSeconds},
                 {"acquireTime", desired.acquireTime},
                 {"renewTime", desired.renewTime},
                 {"leaseTransitions", desired.leaseTransitions}};
    const json lease = {
        {"apiVersion", "coordination.k8s.io/v1"},
        {"kind", "Lease"},
        {"metadata", {{"name", config_.leaseName}, {"namespace", config_.leaseNamespace}}},
        {"spec", std::move(spec)}};
    auto created = client_.create(leasesPath_, lease);
    if (!created) {
      // AlreadyExists: another candidate created it first; the next attempt reads it.
      if (config_.logger) {
        logDebug(*config_.logger, "error initially creating the lease",
                 {{"error", created.error().toString()}});
      }
      return false;
    }
    lease_ = std::move(*created);
    setObserved(desired);
    return true;
  }
  lease_ = std::move(*got);

  // 3. A record that changed since we last looked restarts the expiry countdown, by our clock.
  const json* spec =
      lease_->is_object() && lease_->contains("spec") ? &lease_->at("spec") : nullptr;
  Record current;
  if (spec != nullptr && spec->is_object()) {
    current = Record{stringField(*spec, "holderIdentity"), intField(*spec, "leaseDurationSeconds"),
                     stringField(*spec, "acquireTime"), stringField(*spec, "renewTime"),
                     intField(*spec, "leaseTransitions")};
  }
  if (!observedRawRecord_ || current != *observedRawRecord_) {
    observedRawRecord_ = current;
    setObserved(current);
  }
  if (!current.holderIdentity.empty() && isLeaseValid(now) && !observedHolderIsUs()) return false;

  // 4. Renew, or take over an expired or released lease.
  if (observedHolderIsUs()) {
    desired.acquireTime = current.acquireTime;
    desired.leaseTransitions = current.leaseTransitions;
  } else {
    desired.leaseTransitions = current.leaseTransitions + 1;
  }
  if (!updateLease(desired)) return false;
  setObserved(desired);
  return true;
}

bool LeaderElector::release() {
  if (!observedHolderIsUs()) return true;
  const std::string nowText = microTimeNow();
  const Record released{"", 1, nowText, nowText, observedRecord_.leaseTransitions};
  if (!updateLease(released)) return false;
  setObserved(released);
  if (config_.logger) {
    logInfo(*config_.logger, "released the lease",
            {{"lease", config_.leaseNamespace + "/" + config_.leaseName}});
  }
  return true;
}

bool LeaderElector::updateLease(const Record& record) {
  if (!lease_ || !lease_->is_object()) return false;
  json lease = *lease_;
  json& spec = lease["spec"];
  if (!spec.is_object()) spec = json::object();
  spec["holderIdentity"] = record.holderIdentity;
  spec["leaseDurationSeconds"] = record.leaseDurationSeconds;
  spec["leaseTransitions"] = record.leaseTransitions;
  for (const auto& [key, value] :
       {std::pair{"acquireTime", &record.acquireTime}, std::pair{"renewTime", &record.renewTime}}) {
    if (value->empty()) {
      spec.erase(key);
    } else {
      spec[key] = *value;
    }
  }
  // metadata.resourceVersion from the last read or write: a 409 Conflict means we lost a race.
  auto replaced = client_.replace(leasePath_, lease);
  if (!replaced) {
    if (config_.logger) {
      logAt(*config_.logger, replaced.error().isConflict() ? LogLevel::kDebug : LogLevel::kError,
            "failed to update the lease", {{"error", replaced.error().toString()}});
    }
    return false;
  }
  lease_ = std::move(*replaced);
  return true;
}

void LeaderElector::setObserved(const Record& record) {
  observedRecord_ = record;
  observedTime_ = clock_.now();
  const std::lock_guard lock(mutex_);
  observedHolder_ = record.holderIdentity;
}

bool LeaderElector::isLeaseValid(Clock::TimePoint now) const {
  return observedTime_ + std::chrono::seconds(observedRecord_.leaseDurationSeconds) > now;
}

bool LeaderElector::observedHolderIsUs() const {
  return observedRecord_.holderIdentity == config_.identity;
}

std::string LeaderElector::microTimeNow() const {
  return kube::formatMicroTime(
      wallAnchor_ +
      std::chrono::duration_cast<std::chrono::system_clock::duration>(clock_.now() - clockAnchor_));
}

}  // namespace va::runtime
