// Errors as values for the NLU library: the service library's Result<T>/Error/Status.
#pragma once

#include "workloads/common/result.h"

namespace va::nlu {

using service::Error;
using service::Result;
using service::Status;

}  // namespace va::nlu
