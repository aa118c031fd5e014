#include "operator/runtime/informer.h"

#include <memory>
#include <optional>
#include <utility>

namespace va::runtime {
namespace {

using nlohmann::json;

ObjectPtr toCached(json&& object) {
  stripForCache(object);
  return std::make_shared<const json>(std::move(object));
}

// "namespace/name" of the object's controller of the given group and kind, if any.
std::optional<std::string> controllerKey(const json& object, const std::string& group,
                                         const std::string& kind) {
  const json* meta = jsonField(object, "metadata");
  const json* refs = meta == nullptr ? nullptr : jsonField(*meta, "ownerReferences");
  const auto* list = refs == nullptr ? nullptr : refs->get_ptr<const json::array_t*>();
  if (list == nullptr) return std::nullopt;
  for (const json& ref : *list) {
    const json* controller = jsonField(ref, "controller");
    if (controller == nullptr || *controller != true) continue;
    const std::string apiVersion = stringField(ref, "apiVersion");
    const auto slash = apiVersion.find('/');
    const std::string refGroup = slash == std::string::npos ? "" : apiVersion.substr(0, slash);
    const std::string name = stringField(ref, "name");
    if (refGroup != group || stringField(ref, "kind") != kind || name.empty()) continue;
    // Owners of namespaced objects live in the same namespace; cluster-scoped owners have none.
    const std::string ns = stringField(*meta, "namespace");
    if (ns.empty()) return name;
    std::string key = ns;
    key.append("/").append(name);
    return key;
  }
  return std::nullopt;
}

}  // namespace

Informer::Informer(kube::Client& client, Clock& clock, WatcherOptions options)
    : clock_(clock), watcher_(client, clock, std::move(options), [this](WatchEvent&& event) {
        apply(std::move(event));
      }) {}

Informer::~Informer() { stop(); }

void Informer::addHandlers(ResourceEventHandlers handlers) {
  const std::lock_guard lock(mutex_);
  if (started_) return;  // the thread reads handlers_ without a lock
  handlers_.push_back(std::move(handlers));
}

void Informer::run() {
  const std::lock_guard lock(mutex_);
  if (started_ || stopped_) return;
  started_ = true;
  thread_ = std::thread([this] { watcher_.run(); });
}

void Informer::stop() {
  {
    const std::lock_guard lock(mutex_);
    stopped_ = true;
    synced_.notify_all();
  }
  watcher_.stop();
  if (thread_.joinable()) thread_.join();
}

bool Informer::hasSynced() const {
  const std::lock_guard lock(mutex_);
  return hasSynced_;
}

bool Informer::waitForSync(Clock::TimePoint deadline) {
  std::unique_lock lock(mutex_);
  while (!hasSynced_ && !stopped_ && clock_.now() < deadline) {
    clock_.waitUntil(synced_, lock, deadline);
  }
  return hasSynced_;
}

void Informer::apply(WatchEvent&& event) {
  switch (event.type) {
    case WatchEvent::Type::kReplace: {
      std::vector<ObjectPtr> objects;
      objects.reserve(event.items.size());
      for (json& item : event.items) objects.push_back(toCached(std::move(item)));
      event.items = {};
      for (const ObjectStore::Change& change : store_.replace(std::move(objects))) {
        if (!change.before) {
          notifyAdd(change.after);
        } else if (!change.after) {
          notifyDelete(change.before);
        } else {
          notifyUpdate(change.before, change.after);
        }
      }
      const std::lock_guard lock(mutex_);
      hasSynced_ = true;
      synced_.notify_all();
      return;
    }
    case WatchEvent::Type::kAdded:
    case WatchEvent::Type::kModified: {
      ObjectStore::Change change = store_.upsert(toCached(std::move(event.object)));
      if (!change.after) return;  // no name: nothing to key it by
      if (!change.before) {
        notifyAdd(change.after);
      } else if (resourceVersionOf(*change.before) != resourceVersionOf(*change.after) ||
                 resourceVersionOf(*change.after).empty()) {
        notifyUpdate(change.before, change.after);
      }
      return;
    }
    case WatchEvent::Type::kDeleted: {
      ObjectPtr last = toCached(std::move(event.object));
      const std::string key = objectKey(*last);
      if (key.empty()) return;
      store_.erase(key);
      notifyDelete(last);
      return;
    }
  }
}

void Informer::notifyAdd(const ObjectPtr& object) {
  for (const auto& handlers : handlers_) {
    if (handlers.onAdd) handlers.onAdd(object);
  }
}

void Informer::notifyUpdate(const ObjectPtr& before, const ObjectPtr& after) {
  for (const auto& handlers : handlers_) {
    if (handlers.onUpdate) handlers.onUpdate(before, after);
  }
}

void Informer::notifyDelete(const ObjectPtr& object) {
  for (const auto& handlers : handlers_) {
    if (handlers.onDelete) handlers.onDelete(object);
  }
}

ResourceEventHandlers enqueueKey(WorkQueue& queue) {
  const auto add = [&queue](const ObjectPtr& object) {
    if (std::string key = objectKey(*object); !key.empty()) queue.add(key);
  };
  return {add, [add](const ObjectPtr&, const ObjectPtr& after) { add(after); }, add};
}

ResourceEventHandlers enqueueOwner(WorkQueue& queue, std::string ownerGroup,
                                   std::string ownerKind) {
  const auto add = [&queue, group = std::move(ownerGroup),
                    kind = std::move(ownerKind)](const ObjectPtr& object) {
    if (auto key = controllerKey(*object, group, kind)) queue.add(*key);
  };
  return {add,
          [add](const ObjectPtr& before, const ObjectPtr& after) {
            add(before);  // the queue drops the second add of the same key
            add(after);
          },
          add};
}

}  // namespace va::runtime
