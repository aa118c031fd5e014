// An in-memory API server for Lease objects behind the kube::Client interface: objects stored
// by path, a resourceVersion bumped on every write and checked on PUT (409 Conflict), 404 and
// 409 AlreadyExists as kube-apiserver answers, plus switches to make calls fail or hang.
// Several clients can share one store, each with its own switches (a partitioned candidate):
//   FakeLeaseStore store;
//   FakeLeaseClient a(store), b(store);
//   a.setFailure(kube::ApiError::fromResponse(503, "unavailable"));   // only a is cut off
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "operator/kube/api_error.h"
#include "operator/kube/client.h"

namespace va::kube {

// The objects, shared by the clients made on it. Thread-safe.
class FakeLeaseStore {
 public:
  // The stored object at `path`, if any.
  [[nodiscard]] std::optional<nlohmann::json> object(const std::string& path) const {
    const std::lock_guard lock(mutex_);
    const auto it = objects_.find(path);
    if (it == objects_.end()) return std::nullopt;
    return it->second;
  }

  // A write by someone else (no resourceVersion check); returns the object as stored.
  nlohmann::json put(const std::string& path, nlohmann::json object) {
    const std::lock_guard lock(mutex_);
    return storeLocked(path, std::move(object));
  }

  // Successful creates and replaces through clients.
  [[nodiscard]] int clientWrites() const {
    const std::lock_guard lock(mutex_);
    return clientWrites_;
  }

 private:
  friend class FakeLeaseClient;

  static std::string metadataField(const nlohmann::json& object, const char* key) {
    if (!object.is_object()) return {};
    const auto metadata = object.find("metadata");
    if (metadata == object.end() || !metadata->is_object()) return {};
    const auto value = metadata->find(key);
    return value != metadata->end() && value->is_string() ? value->get<std::string>() : "";
  }

  static ApiError status(int code, std::string_view reason, const std::string& message) {
    const nlohmann::json body = {{"kind", "Status"}, {"apiVersion", "v1"}, {"status", "Failure"},
                                 {"reason", reason}, {"message", message}, {"code", code}};
    return ApiError::fromResponse(code, body.dump());
  }

  nlohmann::json storeLocked(const std::string& path, nlohmann::json object) {
    object["metadata"]["resourceVersion"] = std::to_string(++resourceVersion_);
    objects_[path] = object;
    return object;
  }

  ApiResult<nlohmann::json> get(const std::string& path) const {
    const std::lock_guard lock(mutex_);
    const auto it = objects_.find(path);
    if (it == objects_.end()) return status(404, "NotFound", path + " not found");
    return it->second;
  }

  ApiResult<nlohmann::json> list(const std::string& path) const {
    const std::lock_guard lock(mutex_);
    nlohmann::json items = nlohmann::json::array();
    const std::string prefix = path + "/";
    for (const auto& [key, object] : objects_) {
      if (key.rfind(prefix, 0) == 0 && key.find('/', prefix.size()) == std::string::npos) {
        items.push_back(object);
      }
    }
    return nlohmann::json{
        {"kind", "List"}, {"metadata", nlohmann::json::object()}, {"items", items}};
  }

  ApiResult<nlohmann::json> create(const std::string& collection, nlohmann::json object) {
    const std::lock_guard lock(mutex_);
    const std::string name = metadataField(object, "name");
    if (name.empty()) return status(422, "Invalid", "metadata.name: Required value");
    const std::string path = collection + "/" + name;
    if (objects_.count(path) != 0) return status(409, "AlreadyExists", name + " already exists");
    ++clientWrites_;
    return storeLocked(path, std::move(object));
  }

  ApiResult<nlohmann::json> replace(const std::string& path, nlohmann::json object) {
    const std::lock_guard lock(mutex_);
    const auto it = objects_.find(path);
    if (it == objects_.end()) return status(404, "NotFound", path + " not found");
    if (!object.is_object()) return status(400, "BadRequest", "the body is not an object");
    const std::string wanted = metadataField(object, "resourceVersion");
    const std::string stored = metadataField(it->second, "resourceVersion");
    if (!wanted.empty() && wanted != stored) {
      return status(409, "Conflict",
                    "Operation cannot be fulfilled on leases: the object has been modified; "
                    "please apply your changes to the latest version and try again");
    }
    ++clientWrites_;
    return storeLocked(path, std::move(object));
  }

  ApiResult<nlohmann::json> remove(const std::string& path) {
    const std::lock_guard lock(mutex_);
    const auto it = objects_.find(path);
    if (it == objects_.end()) return status(404, "NotFound", path + " not found");
    objects_.erase(it);
    return nlohmann::json{{"kind", "Status"}, {"status", "Success"}};
  }

  mutable std::mutex mutex_;
  std::map<std::string, nlohmann::json> objects_;
  long resourceVersion_ = 100;
  int clientWrites_ = 0;
};

class FakeLeaseClient final : public Client {
 public:
  explicit FakeLeaseClient(FakeLeaseStore& store) : store_(store) {}

  // Every call fails with `error` while set (nullopt heals).
  void setFailure(std::optional<ApiError> error) {
    const std::lock_guard lock(mutex_);
    failure_ = std::move(error);
  }

  // Runs at the start of each create or replace through this client, before the store sees
  // it; a test uses it to write behind the caller's back (a lost race).
  void setBeforeWrite(std::function<void(const std::string& path)> hook) {
    const std::lock_guard lock(mutex_);
    beforeWrite_ = std::move(hook);
  }

  // While blocked, calls wait (as on a hung connection) until unblock().
  void block() {
    const std::lock_guard lock(mutex_);
    blocked_ = true;
  }
  void unblock() {
    {
      const std::lock_guard lock(mutex_);
      blocked_ = false;
    }
    unblocked_.notify_all();
  }
  // Calls waiting in block() right now.
  [[nodiscard]] std::size_t blockedCalls() const {
    const std::lock_guard lock(mutex_);
    return blockedCalls_;
  }
  // Calls made through this client so far.
  [[nodiscard]] int calls() const {
    const std::lock_guard lock(mutex_);
    return calls_;
  }

  ApiResult<Response> request(std::string_view method, std::string_view path,
                              std::string_view body = {}, std::string_view /*contentType*/ = {},
                              const Headers& /*headers*/ = {}) override {
    ApiResult<nlohmann::json> answer = ApiError::encode("unsupported method");
    const auto object = nlohmann::json::parse(body.begin(), body.end(), nullptr, false);
    if (method == "GET") {
      answer = get(path);
    } else if (method == "POST") {
      answer = create(path, object);
    } else if (method == "PUT") {
      answer = replace(path, object);
    } else if (method == "DELETE") {
      answer = remove(path);
    }
    if (!answer) return answer.error();
    Response response;
    response.status = 200;
    response.headers["content-type"] = "application/json";
    response.body = answer->dump();
    return response;
  }

  ApiResult<nlohmann::json> get(std::string_view path) override {
    if (auto failed = enter()) return *failed;
    return store_.get(std::string(path));
  }
  ApiResult<nlohmann::json> list(std::string_view path) override {
    if (auto failed = enter()) return *failed;
    return store_.list(std::string(path));
  }
  ApiResult<nlohmann::json> create(std::string_view path, const nlohmann::json& object) override {
    if (auto failed = enter()) return *failed;
    runBeforeWrite(std::string(path) + "/" + FakeLeaseStore::metadataField(object, "name"));
    return store_.create(std::string(path), object);
  }
  ApiResult<nlohmann::json> replace(std::string_view path, const nlohmann::json& object) override {
    if (auto failed = enter()) return *failed;
    runBeforeWrite(std::string(path));
    return store_.replace(std::string(path), object);
  }
  ApiResult<nlohmann::json> remove(std::string_view path,
                                   const nlohmann::json& /*options*/ = nullptr) override {
    if (auto failed = enter()) return *failed;
    return store_.remove(std::string(path));
  }
  // Leases are never watched; a stream is not part of this fake.
  Result<void, ApiError> stream(std::string_view /*path*/, const LineHandler& /*onLine*/,
                                const CancelToken* /*cancel*/ = nullptr) override {
    return ApiError::encode("FakeLeaseClient does not stream");
  }

 private:
  // Counts the call, waits while blocked, and returns the injected failure, if any.
  std::optional<ApiError> enter() {
    std::unique_lock lock(mutex_);
    ++calls_;
    ++blockedCalls_;
    unblocked_.wait(lock, [&] { return !blocked_; });
    --blockedCalls_;
    return failure_;
  }

  void runBeforeWrite(const std::string& path) {
    std::function<void(const std::string&)> hook;
    {
      const std::lock_guard lock(mutex_);
      hook = beforeWrite_;
    }
    if (hook) hook(path);
  }

  FakeLeaseStore& store_;
  mutable std::mutex mutex_;
  std::condition_variable unblocked_;
  std::optional<ApiError> failure_;
  std::function<void(const std::string&)> beforeWrite_;
  bool blocked_ = false;
  std::size_t blockedCalls_ = 0;
  int calls_ = 0;
};

}  // namespace va::kube
