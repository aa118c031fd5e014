// DeleteOptions bodies for Client::remove(): how dependents go (propagation policy) and
// preconditions that make a delete fail with 409 Conflict when the object is not the one the
// caller saw.
//   client.remove(path, DeleteOptions{.propagation = Propagation::kForeground}.toJson());
//   client.remove(path, DeleteOptions::ifUnchanged(uid, resourceVersion).toJson());
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace va::kube {

enum class Propagation {
  kDefault,     // the resource's own default (usually Background)
  kForeground,  // the object stays, with a foregroundDeletion finalizer, until its dependents
                // with blockOwnerDeletion are gone
  kBackground,  // the object goes now; the garbage collector deletes dependents afterwards
  kOrphan,      // dependents stay, their ownerReferences to the object removed
};

struct DeleteOptions {
  Propagation propagation = Propagation::kDefault;
  // Preconditions: delete only the object with this uid (not a namesake created since) and/or
  // at this resourceVersion (not changed since it was read).
  std::optional<std::string> uid{};
  std::optional<std::string> resourceVersion{};
  // Seconds before the object is deleted (pods); 0 deletes at once. Unset: the default.
  std::optional<std::int64_t> gracePeriodSeconds{};

  // Preconditions taken from an object as read.
  static DeleteOptions ifUnchanged(std::string uid, std::string resourceVersion);

  // The body for Client::remove(): {"apiVersion":"v1","kind":"DeleteOptions",...}.
  [[nodiscard]] nlohmann::json toJson() const;
};

}  // namespace va::kube
