#include "operator/kube/delete_options.h"

#include <utility>

namespace va::kube {

DeleteOptions DeleteOptions::ifUnchanged(std::string uid, std::string resourceVersion) {
  DeleteOptions options;
  options.uid = std::move(uid);
  options.resourceVersion = std::move(resourceVersion);
  return options;
}

nlohmann::json DeleteOptions::toJson() const {
  nlohmann::json body = {{"apiVersion", "v1"}, {"kind", "DeleteOptions"}};
  switch (propagation) {
    case Propagation::kDefault:
      break;
    case Propagation::kForeground:
      body["propagationPolicy"] = "Foreground";
      break;
    case Propagation::kBackground:
      body["propagationPolicy"] = "Background";
      break;
    case Propagation::kOrphan:
      body["propagationPolicy"] = "Orphan";
      break;
  }
  if (uid || resourceVersion) {
    auto& preconditions = body["preconditions"];
    preconditions = nlohmann::json::object();
    if (uid) preconditions["uid"] = *uid;
    if (resourceVersion) preconditions["resourceVersion"] = *resourceVersion;
  }
  if (gracePeriodSeconds) body["gracePeriodSeconds"] = *gracePeriodSeconds;
  return body;
}

}  // namespace va::kube
