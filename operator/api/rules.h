// The cross-field rules of the CRD (its CEL x-kubernetes-validations), checked in C++ so that
// offline rendering rejects what the API server would. Keep the two in step: each rule here
// quotes the CEL rule it mirrors, and tests/unit/api/testdata/invalid/ has a case for each.
#pragma once

#include "operator/api/types.h"
#include "operator/kube/result.h"

namespace va::api {

kube::Status checkCrossFieldRules(const VirtualAssistant& va);

}  // namespace va::api
