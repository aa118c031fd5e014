#include "operator/runtime/watcher.h"

#include <algorithm>
#include <string_view>
#include <utility>

#include "operator/kube/resource_path.h"
#include "operator/runtime/logging.h"
#include "operator/runtime/object_store.h"

namespace va::runtime {
namespace {

using nlohmann::json;
using Kind = WatcherOutcome::Kind;
using ActionKind = WatcherAction::Kind;

Clock::Duration backoffDelay(int failures, const BackoffPolicy& policy) {
  auto delay = static_cast<double>(policy.initial.count());
  const auto cap = static_cast<double>(policy.max.count());
  for (int i = 0; i < failures && delay < cap; ++i) delay *= policy.factor;
  return Clock::Duration(static_cast<Clock::Duration::rep>(std::min(delay, cap)));
}

WatcherStep backOff(WatcherState state, const WatcherOutcome& outcome, const BackoffPolicy& policy,
                    bool relist) {
  if (state.lastFailure && outcome.at - *state.lastFailure >= policy.resetAfter) {
    state.failures = 0;
  }
  Clock::Duration delay = backoffDelay(state.failures, policy);
  if (outcome.retryAfterSeconds) {
    delay = std::max<Clock::Duration>(delay, std::chrono::seconds(*outcome.retryAfterSeconds));
  }
  ++state.failures;
  state.lastFailure = outcome.at;
  state.phase = WatcherPhase::kBackoff;
  state.relistAfterBackoff = relist;
  return {std::move(state), {ActionKind::kWait, {}, delay}};
}

WatcherStep listNext(WatcherState state) {
  state.phase = WatcherPhase::kListing;
  state.resourceVersion.clear();
  return {std::move(state), {ActionKind::kList, {}, {}}};
}

WatcherStep watchNext(WatcherState state) {
  state.phase = WatcherPhase::kWatching;
  WatcherAction action{ActionKind::kWatch, state.resourceVersion, {}};
  return {std::move(state), std::move(action)};
}

}  // namespace

WatcherStep advanceWatcher(const WatcherState& state, const WatcherOutcome& outcome,
                           const BackoffPolicy& policy) {
  switch (state.phase) {
    case WatcherPhase::kListing:
      switch (outcome.kind) {
        case Kind::kListed: {
          WatcherState next = state;
          next.resourceVersion = outcome.resourceVersion;
          return watchNext(std::move(next));
        }
        case Kind::kListFailed:
        case Kind::kGone:
        case Kind::kWatchFailed:
          return backOff(state, outcome, policy, /*relist=*/true);
        default:
          return {state, {ActionKind::kList, {}, {}}};
      }
    case WatcherPhase::kWatching:
      switch (outcome.kind) {
        case Kind::kEvent: {
          WatcherState next = state;
          if (!outcome.resourceVersion.empty()) next.resourceVersion = outcome.resourceVersion;
          return {std::move(next), {ActionKind::kContinue, {}, {}}};
        }
        case Kind::kWatchEnded:
          return watchNext(state);
        case Kind::kGone:
          return listNext(state);
        case Kind::kWatchFailed:
        case Kind::kListFailed:
          return backOff(state, outcome, policy, /*relist=*/false);
        default:
          return watchNext(state);
      }
    case WatcherPhase::kBackoff:
      if (outcome.kind != Kind::kBackoffElapsed) {
        return {state, {ActionKind::kWait, {}, backoffDelay(state.failures - 1, policy)}};
      }
      return state.relistAfterBackoff || state.resourceVersion.empty() ? listNext(state)
                                                                       : watchNext(state);
  }
  return listNext(state);
}

WatcherAction initialAction(const WatcherState& state, const BackoffPolicy& policy) {
  switch (state.phase) {
    case WatcherPhase::kWatching:
      // A watch without a version would start "now" and miss what exists: list instead.
      if (!state.resourceVersion.empty()) return {ActionKind::kWatch, state.resourceVersion, {}};
      return {ActionKind::kList, {}, {}};
    case WatcherPhase::kBackoff:
      return {ActionKind::kWait, {}, backoffDelay(std::max(0, state.failures - 1), policy)};
    case WatcherPhase::kListing:
      break;
  }
  return {ActionKind::kList, {}, {}};
}

Clock::Duration jittered(Clock::Duration delay, double jitter, double unit) {
  if (jitter <= 0) return delay;
  return delay + Clock::Duration(static_cast<Clock::Duration::rep>(
                     static_cast<double>(delay.count()) * jitter * unit));
}

Watcher::Watcher(kube::Client& client, Clock& clock, WatcherOptions options, WatchSink sink)
    : client_(client),
      clock_(clock),
      options_(std::move(options)),
      sink_(std::move(sink)),
      random_(std::random_device{}()) {}

void Watcher::run(WatcherState start) {
  WatcherAction action;
  {
    const std::lock_guard lock(mutex_);
    state_ = std::move(start);
    action = initialAction(state_, options_.backoff);
  }
  while (!stopping()) {
    switch (action.kind) {
      case ActionKind::kList:
        action = list();
        break;
      case ActionKind::kWatch:
        action = watch(action.resourceVersion);
        break;
      case ActionKind::kWait: {
        std::uniform_real_distribution<double> unit(0.0, 1.0);
        const Clock::Duration delay =
            jittered(action.delay, options_.backoff.jitter, unit(random_));
        if (options_.logger) {
          logAt(
              *options_.logger, LogLevel::kWarn, "list/watch failed; backing off",
              {{"path", options_.path},
               {"error", stats().lastError},
               {"delayMs", std::chrono::duration_cast<std::chrono::milliseconds>(delay).count()}});
        }
        action = wait(delay);
        break;
      }
      case ActionKind::kContinue:  // only meaningful inside watch(); restart the phase
        action = initialAction(state(), options_.backoff);
        break;
    }
  }
}

void Watcher::stop() {
  const std::lock_guard lock(mutex_);
  stopping_ = true;
  cancel_.cancel();
  wake_.notify_all();
}

bool Watcher::stopping() const {
  const std::lock_guard lock(mutex_);
  return stopping_;
}

WatcherStats Watcher::stats() const {
  const std::lock_guard lock(mutex_);
  return stats_;
}

WatcherState Watcher::state() const {
  const std::lock_guard lock(mutex_);
  return state_;
}

std::string Watcher::listPath() const {
  std::string path = options_.path;
  if (!options_.labelSelector.empty()) {
    path = kube::withQuery(path, "labelSelector", options_.labelSelector);
  }
  if (!options_.fieldSelector.empty()) {
    path = kube::withQuery(path, "fieldSelector", options_.fieldSelector);
  }
  return path;
}

std::string Watcher::watchPath(const std::string& resourceVersion,
                               std::chrono::seconds timeout) const {
  std::string path = kube::withQuery(listPath(), "watch", "true");
  path = kube::withQuery(path, "resourceVersion", resourceVersion);
  path = kube::withQuery(path, "allowWatchBookmarks", "true");
  return kube::withQuery(path, "timeoutSeconds", std::to_string(timeout.count()));
}

WatcherAction Watcher::advance(const WatcherOutcome& outcome) {
  const std::lock_guard lock(mutex_);
  WatcherStep step = advanceWatcher(state_, outcome, options_.backoff);
  state_ = std::move(step.state);
  return std::move(step.action);
}

WatcherAction Watcher::fail(WatcherOutcome::Kind kind, const kube::ApiError& error) {
  WatcherOutcome outcome{kind, {}, clock_.now(), error.retryAfterSeconds()};
  {
    const std::lock_guard lock(mutex_);
    ++stats_.failures;
    stats_.lastError = error.toString();
  }
  return advance(outcome);
}

WatcherAction Watcher::gone(const kube::ApiError& error) {
  {
    const std::lock_guard lock(mutex_);
    ++stats_.gone;
    stats_.lastError = error.toString();
  }
  if (options_.logger) {
    logInfo(*options_.logger, "resourceVersion too old; relisting",
            {{"path", options_.path}, {"error", error.toString()}});
  }
  return advance({Kind::kGone, {}, clock_.now(), std::nullopt});
}

WatcherAction Watcher::list() {
  const std::string path = listPath();
  auto listed = client_.list(path);
  if (!listed) return fail(Kind::kListFailed, listed.error());
  json& body = *listed;
  const std::string resourceVersion = resourceVersionOf(body);
  if (resourceVersion.empty()) {
    return fail(Kind::kListFailed,
                kube::ApiError::decode(200, "the List has no metadata.resourceVersion")
                    .withRequest("GET", path));
  }
  // List items come without apiVersion and kind; watch events carry them. Fill them in so
  // that the cache holds the same shape whichever way an object arrived.
  const std::string apiVersion = stringField(body, "apiVersion");
  std::string kind = stringField(body, "kind");
  if (kind.size() > 4 && kind.ends_with("List")) kind.resize(kind.size() - 4);
  WatchEvent event{WatchEvent::Type::kReplace, {}, {}, resourceVersion};
  json* items = jsonField(body, "items");
  if (auto* array = items == nullptr ? nullptr : items->get_ptr<json::array_t*>()) {
    event.items.reserve(array->size());
    for (json& item : *array) {
      auto* fields = item.get_ptr<json::object_t*>();
      if (fields == nullptr) continue;
      if (!apiVersion.empty()) fields->try_emplace("apiVersion", apiVersion);
      if (!kind.empty()) fields->try_emplace("kind", kind);
      event.items.push_back(std::move(item));
    }
  }
  body = json();  // the items moved out; free the rest before the sink copies anything
  {
    const std::lock_guard lock(mutex_);
    ++stats_.lists;
    if (stopping_) return {ActionKind::kList, {}, {}};
  }
  sink_(std::move(event));
  return advance({Kind::kListed, resourceVersion, clock_.now(), std::nullopt});
}

WatcherAction Watcher::watch(const std::string& resourceVersion) {
  const auto minTimeout = std::max<std::chrono::seconds::rep>(1, options_.minWatchTimeout.count());
  std::uniform_int_distribution<std::chrono::seconds::rep> spread(minTimeout, 2 * minTimeout - 1);
  const std::string path = watchPath(resourceVersion, std::chrono::seconds(spread(random_)));
  {
    const std::lock_guard lock(mutex_);
    ++stats_.watches;
  }

  std::optional<WatcherAction> decided;  // set by an ERROR event or an undecodable line
  const auto onLine = [&](std::string_view line) -> bool {
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) return true;
    json event = json::parse(line, nullptr, /*allow_exceptions=*/false);
    const std::string type = stringField(event, "type");
    json* object = jsonField(event, "object");
    if (type.empty() || object == nullptr || !object->is_object()) {
      decided = fail(Kind::kWatchFailed,
                     kube::ApiError::decode(200,
                                            "a watch event is not an object with \"type\" "
                                            "and \"object\": " +
                                                std::string(line.substr(0, 200)))
                         .withRequest("GET", path));
      return false;
    }
    if (type == "ERROR") {
      // The object is a Status; 410 (reason Expired or Gone) means the version is too old.
      const json* codeField = jsonField(*object, "code");
      const int code =
          codeField != nullptr && codeField->is_number_integer() ? codeField->get<int>() : 500;
      const auto error = kube::ApiError::fromResponse(
                             code, object->dump(-1, ' ', false, json::error_handler_t::replace))
                             .withRequest("GET", path);
      decided = error.isGone() ? gone(error) : fail(Kind::kWatchFailed, error);
      return false;
    }
    const std::string version = resourceVersionOf(*object);
    WatchEvent::Type delivered;
    if (type == "ADDED") {
      delivered = WatchEvent::Type::kAdded;
    } else if (type == "MODIFIED") {
      delivered = WatchEvent::Type::kModified;
    } else if (type == "DELETED") {
      delivered = WatchEvent::Type::kDeleted;
    } else {  // BOOKMARK, or a type this code does not know: only the version moves
      advance({Kind::kEvent, version, clock_.now(), std::nullopt});
      return true;
    }
    sink_(WatchEvent{delivered, std::move(*object), {}, {}});
    advance({Kind::kEvent, version, clock_.now(), std::nullopt});
    return true;
  };

  auto streamed = client_.stream(path, onLine, &cancel_);
  if (decided) return *decided;
  if (!streamed) {
    const kube::ApiError& error = streamed.error();
    return error.isGone() ? gone(error) : fail(Kind::kWatchFailed, error);
  }
  return advance({Kind::kWatchEnded, {}, clock_.now(), std::nullopt});
}

WatcherAction Watcher::wait(Clock::Duration delay) {
  {
    std::unique_lock lock(mutex_);
    const Clock::TimePoint deadline = clock_.now() + delay;
    while (!stopping_ && clock_.now() < deadline) clock_.waitUntil(wake_, lock, deadline);
  }
  return advance({Kind::kBackoffElapsed, {}, clock_.now(), std::nullopt});
}

}  // namespace va::runtime
