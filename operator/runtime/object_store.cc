#include "operator/runtime/object_store.h"

#include <mutex>
#include <utility>

namespace va::runtime {

using nlohmann::json;

// Through the underlying std::map: nlohmann's iterators trip GCC's -Wnull-dereference at -O2.
const json* jsonField(const json& object, const std::string& key) {
  const auto* fields = object.get_ptr<const json::object_t*>();
  if (fields == nullptr) return nullptr;
  const auto it = fields->find(key);
  return it == fields->end() ? nullptr : &it->second;
}

json* jsonField(json& object, const std::string& key) {
  auto* fields = object.get_ptr<json::object_t*>();
  if (fields == nullptr) return nullptr;
  const auto it = fields->find(key);
  return it == fields->end() ? nullptr : &it->second;
}

std::string stringField(const json& object, const std::string& key) {
  const json* value = jsonField(object, key);
  const auto* text = value == nullptr ? nullptr : value->get_ptr<const std::string*>();
  return text == nullptr ? std::string() : *text;
}

std::string resourceVersionOf(const json& object) {
  const json* meta = jsonField(object, "metadata");
  return meta == nullptr ? std::string() : stringField(*meta, "resourceVersion");
}

std::string objectKey(const json& object) {
  const json* meta = jsonField(object, "metadata");
  if (meta == nullptr) return {};
  const std::string name = stringField(*meta, "name");
  if (name.empty()) return {};
  const std::string ns = stringField(*meta, "namespace");
  return ns.empty() ? name : ns + "/" + name;
}

void stripForCache(json& object) {
  json* meta = jsonField(object, "metadata");
  auto* metaFields = meta == nullptr ? nullptr : meta->get_ptr<json::object_t*>();
  if (metaFields == nullptr) return;
  metaFields->erase("managedFields");
  const auto annotations = metaFields->find("annotations");
  if (annotations == metaFields->end()) return;
  if (auto* map = annotations->second.get_ptr<json::object_t*>()) {
    map->erase("kubectl.kubernetes.io/last-applied-configuration");
    if (map->empty()) metaFields->erase(annotations);
  }
}

std::vector<std::string> ownerUids(const json& object) {
  std::vector<std::string> uids;
  const json* meta = jsonField(object, "metadata");
  const json* refs = meta == nullptr ? nullptr : jsonField(*meta, "ownerReferences");
  if (refs == nullptr || !refs->is_array()) return uids;
  for (const json& ref : *refs) {
    if (std::string uid = stringField(ref, "uid"); !uid.empty()) uids.push_back(std::move(uid));
  }
  return uids;
}

ObjectPtr ObjectStore::get(const std::string& key) const {
  const std::shared_lock lock(mutex_);
  const auto it = objects_.find(key);
  return it == objects_.end() ? nullptr : it->second.object;
}

std::vector<ObjectPtr> ObjectStore::list() const {
  const std::shared_lock lock(mutex_);
  std::vector<ObjectPtr> out;
  out.reserve(objects_.size());
  for (const auto& [key, entry] : objects_) out.push_back(entry.object);
  return out;
}

std::vector<ObjectPtr> ObjectStore::byNamespace(std::string_view ns) const {
  std::vector<ObjectPtr> out;
  if (ns.empty()) return out;
  const std::string prefix = std::string(ns) + "/";
  const std::shared_lock lock(mutex_);
  for (auto it = objects_.lower_bound(prefix);
       it != objects_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    out.push_back(it->second.object);
  }
  return out;
}

std::vector<ObjectPtr> ObjectStore::byOwner(std::string_view uid) const {
  std::vector<ObjectPtr> out;
  const std::shared_lock lock(mutex_);
  const auto owned = byOwner_.find(std::string(uid));
  if (owned == byOwner_.end()) return out;
  out.reserve(owned->second.size());
  for (const std::string& key : owned->second) {
    if (const auto it = objects_.find(key); it != objects_.end()) out.push_back(it->second.object);
  }
  return out;
}

std::vector<std::string> ObjectStore::keys() const {
  const std::shared_lock lock(mutex_);
  std::vector<std::string> out;
  out.reserve(objects_.size());
  for (const auto& [key, entry] : objects_) out.push_back(key);
  return out;
}

std::size_t ObjectStore::size() const {
  const std::shared_lock lock(mutex_);
  return objects_.size();
}

void ObjectStore::indexLocked(const std::string& key, const std::vector<std::string>& owners) {
  for (const std::string& uid : owners) byOwner_[uid].insert(key);
}

void ObjectStore::unindexLocked(const std::string& key, const std::vector<std::string>& owners) {
  for (const std::string& uid : owners) {
    const auto it = byOwner_.find(uid);
    if (it == byOwner_.end()) continue;
    it->second.erase(key);
    if (it->second.empty()) byOwner_.erase(it);
  }
}

ObjectStore::Change ObjectStore::upsert(ObjectPtr object) {
  if (!object) return {};
  std::string key = objectKey(*object);
  if (key.empty()) return {};
  std::vector<std::string> owners = ownerUids(*object);
  const std::unique_lock lock(mutex_);
  auto [it, inserted] = objects_.try_emplace(std::move(key));
  Change change{inserted ? nullptr : it->second.object, object};
  if (!inserted) unindexLocked(it->first, it->second.owners);
  indexLocked(it->first, owners);
  it->second = Entry{std::move(object), std::move(owners)};
  return change;
}

ObjectPtr ObjectStore::erase(const std::string& key) {
  const std::unique_lock lock(mutex_);
  const auto it = objects_.find(key);
  if (it == objects_.end()) return nullptr;
  ObjectPtr removed = std::move(it->second.object);
  unindexLocked(key, it->second.owners);
  objects_.erase(it);
  return removed;
}

std::vector<ObjectStore::Change> ObjectStore::replace(std::vector<ObjectPtr> objects) {
  // Built outside the lock, so readers keep reading the old contents meanwhile.
  std::map<std::string, Entry, std::less<>> fresh;
  for (ObjectPtr& object : objects) {
    if (!object) continue;
    std::string key = objectKey(*object);
    if (key.empty()) continue;
    std::vector<std::string> owners = ownerUids(*object);
    fresh.insert_or_assign(std::move(key), Entry{std::move(object), std::move(owners)});
  }

  std::vector<Change> changes;
  std::unordered_map<std::string, std::set<std::string>> freshOwners;
  const std::unique_lock lock(mutex_);
  auto old = objects_.begin();
  for (auto& [key, entry] : fresh) {
    for (; old != objects_.end() && old->first < key; ++old) {
      changes.push_back({old->second.object, nullptr});
    }
    if (old != objects_.end() && old->first == key) {
      if (resourceVersionOf(*old->second.object) == resourceVersionOf(*entry.object) &&
          !resourceVersionOf(*entry.object).empty()) {
        entry = std::move(old->second);  // unchanged: keep the pointer readers may hold
      } else {
        changes.push_back({old->second.object, entry.object});
      }
      ++old;
    } else {
      changes.push_back({nullptr, entry.object});
    }
    for (const std::string& uid : entry.owners) freshOwners[uid].insert(key);
  }
  for (; old != objects_.end(); ++old) changes.push_back({old->second.object, nullptr});
  // Swapped, not assigned: the old contents are freed after the lock is released.
  objects_.swap(fresh);
  byOwner_.swap(freshOwners);
  return changes;
}

}  // namespace va::runtime
