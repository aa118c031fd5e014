// The signature every component puts on what it sends out (output-manager's callbacks,
// action-executor's requests), as Slack and Stripe sign theirs: "v1=" followed by the lowercase
// hex HMAC-SHA256 of "<timestamp>.<body>".
//   std::string signature = signTimestamped(secret, "1764201600", body);
#pragma once

#include <string>
#include <string_view>

#include "workloads/common/config.h"

namespace va::service {

std::string signTimestamped(const Secret& secret, std::string_view timestamp,
                            std::string_view body);

}  // namespace va::service
