// REST paths of Kubernetes resources, with namespace and name escaped:
//   resourcePath("", "v1", "configmaps", "ns", "cm") == "/api/v1/namespaces/ns/configmaps/cm"
//   resourcePath("apps", "v1", "deployments", "ns")  == "/apis/apps/v1/namespaces/ns/deployments"
//   withQuery(path, "labelSelector", "app=x")        == path + "?labelSelector=app%3Dx"
#pragma once

#include <string>
#include <string_view>

namespace va::kube {

// The core group ("") lives under /api, every other group under /apis/<group>. group, version
// and resource are API identifiers and are used as given; an empty namespace means a
// cluster-scoped resource (or all namespaces), an empty name means the collection.
std::string resourcePath(std::string_view group, std::string_view version,
                         std::string_view resource, std::string_view ns = {},
                         std::string_view name = {});

// Percent-encodes everything except RFC 3986 unreserved characters; "." and ".." are encoded
// too, so a name can never step out of its collection.
std::string escapePathSegment(std::string_view segment);

// Appends "key=value" (value percent-encoded) with "?" or "&" as the path requires.
std::string withQuery(std::string_view path, std::string_view key, std::string_view value);

}  // namespace va::kube
