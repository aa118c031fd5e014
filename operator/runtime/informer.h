// An informer: a Watcher that keeps an ObjectStore of one collection up to date on its own
// thread and tells handlers what changed; handlers typically queue keys for a controller.
//   Informer deployments(client, clock, {.path = kube::resourcePath("apps", "v1", "deployments"),
//                                        .labelSelector = "app.kubernetes.io/managed-by=va"});
//   deployments.addHandlers(enqueueOwner(queue, "va.example.com", "VirtualAssistant"));
//   deployments.run();
//   if (!deployments.waitForSync(clock.now() + 30s)) return error;
//   for (const ObjectPtr& d : deployments.store().byOwner(uid)) ...
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "operator/kube/client.h"
#include "operator/runtime/clock.h"
#include "operator/runtime/object_store.h"
#include "operator/runtime/watcher.h"
#include "operator/runtime/work_queue.h"

namespace va::runtime {

// Called on the informer's thread, one event at a time and in the order the changes happened;
// keep them quick (queue a key). Any may be empty. Objects arrive stripped (stripForCache).
struct ResourceEventHandlers {
  std::function<void(const ObjectPtr& object)> onAdd{};
  std::function<void(const ObjectPtr& before, const ObjectPtr& after)> onUpdate{};
  // The object's last state: the deletion event's, or the cached one when a relist found the
  // object gone.
  std::function<void(const ObjectPtr& object)> onDelete{};
};

// Thread-safe. Handlers are added before run(); the store can be read from any thread.
class Informer {
 public:
  // `client` and `clock` must outlive the informer. Options as for the Watcher: the collection
  // path, label and field selectors (both applied to the list and the watch), backoff, logger.
  Informer(kube::Client& client, Clock& clock, WatcherOptions options);
  ~Informer();  // stop()
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  void addHandlers(ResourceEventHandlers handlers);

  // Starts the informer's thread (once; later calls do nothing).
  void run();
  // Stops the watch and joins the thread (within the client's request timeout if a list is in
  // flight). Idempotent; the informer cannot be run again.
  void stop();

  // True once the first list is in the store (and its handlers have run).
  [[nodiscard]] bool hasSynced() const;
  // Blocks until hasSynced(), stop() or `deadline` on the clock; returns hasSynced().
  bool waitForSync(Clock::TimePoint deadline);

  [[nodiscard]] const ObjectStore& store() const { return store_; }
  [[nodiscard]] WatcherStats stats() const { return watcher_.stats(); }

 private:
  void apply(WatchEvent&& event);
  void notifyAdd(const ObjectPtr& object);
  void notifyUpdate(const ObjectPtr& before, const ObjectPtr& after);
  void notifyDelete(const ObjectPtr& object);

  Clock& clock_;
  ObjectStore store_;
  std::vector<ResourceEventHandlers> handlers_;  // written before run(), then read-only
  Watcher watcher_;
  std::thread thread_;

  mutable std::mutex mutex_;
  std::condition_variable synced_;  // hasSynced_ or stopped_ became true
  bool started_ = false;
  bool stopped_ = false;
  bool hasSynced_ = false;
};

// Handlers that queue the object's own key on every add, update and delete.
ResourceEventHandlers enqueueKey(WorkQueue& queue);

// Handlers that queue the key ("namespace/name") of the object's controller: the
// ownerReferences entry with controller: true whose kind is `ownerKind` and whose apiVersion's
// group is `ownerGroup` ("" for the core group). Objects without such an owner are ignored; an
// update queues both the old and the new controller when they differ.
ResourceEventHandlers enqueueOwner(WorkQueue& queue, std::string ownerGroup, std::string ownerKind);

}  // namespace va::runtime
