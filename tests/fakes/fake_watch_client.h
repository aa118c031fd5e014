// A kube::Client whose list() and stream() answer from a script, for driving the Watcher and the
// Informer without a server. Unscripted lists fail; an unscripted watch stays open (silent)
// until it is cancelled, which is where a test usually leaves the watcher before stop().
//   FakeWatchClient client;
//   client.scriptList(FakeWatchClient::list("10", {configMap("ns", "a", "9")}));
//   client.scriptWatch({.lines = {event("ADDED", configMap("ns", "b", "11"))},
//                       .error = kube::ApiError::transport("connection reset")});
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "operator/kube/client.h"

namespace va::kube {

class FakeWatchClient final : public Client {
 public:
  struct Watch {
    std::vector<std::string> lines{};  // handed to onLine in order (it may stop early)
    std::optional<ApiError> error{};   // then the stream fails with this; nullopt: a normal end
    bool hang = false;                 // after the lines, stay open until cancelled
  };

  // A ConfigMapList answer at `resourceVersion` (items without apiVersion/kind, as servers send).
  static nlohmann::json list(const std::string& resourceVersion,
                             std::vector<nlohmann::json> items) {
    for (auto& item : items) {
      item.erase("apiVersion");
      item.erase("kind");
    }
    return {{"apiVersion", "v1"},
            {"kind", "ConfigMapList"},
            {"metadata", {{"resourceVersion", resourceVersion}}},
            {"items", std::move(items)}};
  }

  static nlohmann::json configMap(const std::string& ns, const std::string& name,
                                  const std::string& resourceVersion,
                                  const nlohmann::json& data = nlohmann::json::object()) {
    return {{"apiVersion", "v1"},
            {"kind", "ConfigMap"},
            {"metadata", {{"namespace", ns}, {"name", name}, {"resourceVersion", resourceVersion}}},
            {"data", data}};
  }

  static std::string event(const std::string& type, const nlohmann::json& object) {
    return nlohmann::json{{"type", type}, {"object", object}}.dump();
  }

  static std::string bookmark(const std::string& resourceVersion) {
    return event("BOOKMARK", {{"kind", "ConfigMap"},
                              {"apiVersion", "v1"},
                              {"metadata", {{"resourceVersion", resourceVersion}}}});
  }

  static std::string errorEvent(int code, const std::string& reason) {
    return event("ERROR", {{"kind", "Status"},
                           {"apiVersion", "v1"},
                           {"status", "Failure"},
                           {"message", "injected"},
                           {"reason", reason},
                           {"code", code}});
  }

  void scriptList(ApiResult<nlohmann::json> answer) {
    const std::lock_guard lock(mutex_);
    lists_.push_back(std::move(answer));
  }

  void scriptWatch(Watch watch) {
    const std::lock_guard lock(mutex_);
    watches_.push_back(std::move(watch));
  }

  // Every list and stream path requested so far, in order.
  [[nodiscard]] std::vector<std::string> paths() const {
    const std::lock_guard lock(mutex_);
    return paths_;
  }

  // True while a stream() call is inside its silent "hang" part (or unscripted).
  [[nodiscard]] bool hanging() const {
    const std::lock_guard lock(mutex_);
    return hanging_;
  }

  ApiResult<Response> request(std::string_view method, std::string_view path, std::string_view,
                              std::string_view, const Headers&) override {
    return unscripted(method, path);
  }
  ApiResult<nlohmann::json> get(std::string_view path) override { return unscripted("GET", path); }
  ApiResult<nlohmann::json> create(std::string_view path, const nlohmann::json&) override {
    return unscripted("POST", path);
  }
  ApiResult<nlohmann::json> replace(std::string_view path, const nlohmann::json&) override {
    return unscripted("PUT", path);
  }
  ApiResult<nlohmann::json> remove(std::string_view path, const nlohmann::json&) override {
    return unscripted("DELETE", path);
  }

  ApiResult<nlohmann::json> list(std::string_view path) override {
    const std::lock_guard lock(mutex_);
    paths_.emplace_back(path);
    if (lists_.empty()) return unscripted("GET", path);
    ApiResult<nlohmann::json> answer = std::move(lists_.front());
    lists_.pop_front();
    return answer;
  }

  Result<void, ApiError> stream(std::string_view path, const LineHandler& onLine,
                                const CancelToken* cancel) override {
    Watch watch{{}, std::nullopt, true};
    {
      const std::lock_guard lock(mutex_);
      paths_.emplace_back(path);
      if (!watches_.empty()) {
        watch = std::move(watches_.front());
        watches_.pop_front();
      }
    }
    for (const std::string& line : watch.lines) {
      if (cancel != nullptr && cancel->cancelled()) return {};
      if (!onLine(line)) return {};
    }
    if (watch.hang) {
      setHanging(true);
      // CancelToken has no notification; the real client polls it too.
      while (cancel == nullptr || !cancel->cancelled()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      setHanging(false);
      return {};
    }
    if (watch.error) return *watch.error;
    return {};
  }

 private:
  static ApiError unscripted(std::string_view method, std::string_view path) {
    return ApiError::transport("FakeWatchClient: no scripted answer").withRequest(method, path);
  }

  void setHanging(bool hanging) {
    const std::lock_guard lock(mutex_);
    hanging_ = hanging;
  }

  mutable std::mutex mutex_;
  std::deque<ApiResult<nlohmann::json>> lists_;
  std::deque<Watch> watches_;
  std::vector<std::string> paths_;
  bool hanging_ = false;
};

}  // namespace va::kube
