// Errors as values for the service library: the generic Result<T, E>/Error/Status from
// operator/kube/result.h, re-exported into va::service until it moves to a shared folder.
#pragma once

#include "operator/kube/result.h"

namespace va::service {

using kube::Error;
using kube::Result;
using kube::Status;

}  // namespace va::service
