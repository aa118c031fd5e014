// The informer's cache: objects keyed "namespace/name" (cluster-scoped: "name"), indexed by
// namespace and by owner UID. One writer, many concurrent readers; a reader gets shared pointers
// to immutable objects that stay valid however the store changes afterwards.
//   for (const ObjectPtr& pod : store.byOwner(replicaSetUid)) use(*pod);
//   if (ObjectPtr cm = store.get("default/settings")) use(cm->at("data"));
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace va::runtime {

using ObjectPtr = std::shared_ptr<const nlohmann::json>;

// A member of a JSON object; null when `object` is not an object or has no such member. These
// accessors never throw (json::at and json::value do on a wrong type).
const nlohmann::json* jsonField(const nlohmann::json& object, const std::string& key);
nlohmann::json* jsonField(nlohmann::json& object, const std::string& key);
// A string member; "" when absent or not a string.
std::string stringField(const nlohmann::json& object, const std::string& key);
// metadata.resourceVersion; "" when absent.
std::string resourceVersionOf(const nlohmann::json& object);

// "namespace/name", or "name" for a cluster-scoped object; "" when metadata.name is missing.
std::string objectKey(const nlohmann::json& object);

// Removes what a controller never reads but what costs memory in every cached object:
// metadata.managedFields and the kubectl.kubernetes.io/last-applied-configuration annotation
// (a full copy of the object as last applied by kubectl).
void stripForCache(nlohmann::json& object);

// The UIDs in metadata.ownerReferences.
std::vector<std::string> ownerUids(const nlohmann::json& object);

// Reads are thread-safe and take a shared lock; writes (the informer's thread only, though they
// are safe from any) take it exclusively.
class ObjectStore {
 public:
  // One write's effect: `before` is null for an addition, `after` is null for a deletion.
  struct Change {
    ObjectPtr before;
    ObjectPtr after;
  };

  [[nodiscard]] ObjectPtr get(const std::string& key) const;
  // Every object, ordered by key.
  [[nodiscard]] std::vector<ObjectPtr> list() const;
  [[nodiscard]] std::vector<ObjectPtr> byNamespace(std::string_view ns) const;
  [[nodiscard]] std::vector<ObjectPtr> byOwner(std::string_view uid) const;
  [[nodiscard]] std::vector<std::string> keys() const;
  [[nodiscard]] std::size_t size() const;

  // Inserts or replaces the object under its key; returns the change (before is the old object,
  // if any). An object without a name is ignored (both null).
  Change upsert(ObjectPtr object);
  // Removes the key; returns the removed object (null if absent).
  ObjectPtr erase(const std::string& key);
  // Makes the store hold exactly `objects`. Returns the additions, the deletions of keys that
  // are gone, and the updates of objects whose resourceVersion changed (ordered by key); an
  // object with an unchanged resourceVersion keeps its old pointer and is not reported.
  std::vector<Change> replace(std::vector<ObjectPtr> objects);

 private:
  struct Entry {
    ObjectPtr object;
    std::vector<std::string> owners;
  };

  void indexLocked(const std::string& key, const std::vector<std::string>& owners);
  void unindexLocked(const std::string& key, const std::vector<std::string>& owners);

  mutable std::shared_mutex mutex_;
  std::map<std::string, Entry, std::less<>> objects_;  // ordered: byNamespace is a range scan
  std::unordered_map<std::string, std::set<std::string>> byOwner_;
};

}  // namespace va::runtime
