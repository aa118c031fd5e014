#include "operator/controller/child_kinds.h"

#include "operator/kube/resource_path.h"

namespace va::controller {

std::optional<std::size_t> childKindIndex(std::string_view kind) {
  for (std::size_t i = 0; i < kChildKinds.size(); ++i) {
    if (kChildKinds.at(i).kind == kind) return i;
  }
  return std::nullopt;
}

std::string childPath(const ChildKind& kind, std::string_view ns, std::string_view name) {
  return kube::resourcePath(kind.group, kind.version, kind.resource, ns, name);
}

}  // namespace va::controller
