// Base64 in the standard padded alphabet (RFC 4648 §4), as Kubernetes uses it for kubeconfig
// *-data fields and Secret data. Decoding is strict apart from skipping ASCII whitespace.
#pragma once

#include <string>
#include <string_view>

#include "operator/kube/result.h"

namespace va::kube {

// The decoded bytes, or an error that says what is wrong (never echoes the input: it is
// often a key).
Result<std::string> decodeBase64(std::string_view encoded);

std::string encodeBase64(std::string_view bytes);

}  // namespace va::kube
