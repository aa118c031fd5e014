// Signed webhooks, as Slack and Stripe sign theirs: the receiver gets
//   X-VA-Timestamp: 1764201600
//   X-VA-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>
// and recomputes the HMAC over the exact body bytes, rejecting timestamps outside a tolerance
// (replays).
//   std::string signature = signWebhook(secret, "1764201600", body);
//   bool ok = verifyWebhook(secret, timestampHeader, body, signatureHeader, now, 5min);
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "workloads/common/config.h"

namespace va::output_manager {

inline constexpr std::string_view kTimestampHeader = "X-VA-Timestamp";
inline constexpr std::string_view kSignatureHeader = "X-VA-Signature";
inline constexpr std::string_view kDeliveryIdHeader = "X-VA-Delivery-Id";

// "v1=" followed by the lowercase hex HMAC-SHA256 of "<timestamp>.<body>".
std::string signWebhook(const va::service::Secret& secret, std::string_view timestamp,
                        std::string_view body);

// True when `signature` is signWebhook(secret, timestamp, body) (compared in constant time) and
// the timestamp is within `tolerance` of `now`.
bool verifyWebhook(const va::service::Secret& secret, std::string_view timestamp,
                   std::string_view body, std::string_view signature,
                   std::chrono::system_clock::time_point now, std::chrono::seconds tolerance);

}  // namespace va::output_manager
