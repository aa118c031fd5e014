// Error replies in one JSON shape for every component:
//   {"error":{"code":"payload_too_large","message":"body larger than 1048576 bytes"}}
//   setJsonError(res, 404, "conversation_not_found", "no conversation c-1");
#pragma once

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace va::service {

nlohmann::json jsonError(std::string_view code, std::string_view message);
std::string jsonErrorBody(std::string_view code, std::string_view message);
void setJsonError(httplib::Response& res, int status, std::string_view code,
                  std::string_view message);

// A handler's answer before it is written: status, JSON body and, for 503/429, Retry-After.
// Handlers that return one can be tested without a server.
struct JsonReply {
  int status = 200;
  nlohmann::json body{};
  std::optional<int> retryAfterSeconds{};
};
JsonReply jsonErrorReply(int status, std::string_view code, std::string_view message);
// Writes it (invalid UTF-8 in strings is replaced, so the write cannot fail).
void writeJsonReply(httplib::Response& res, const JsonReply& reply);

// A machine-readable code for a status: 404 -> "not_found", 503 -> "service_unavailable".
std::string errorCodeForStatus(int status);
// The reason phrase: 431 -> "Request Header Fields Too Large".
std::string reasonPhrase(int status);

// A complete HTTP/1.1 response with a JSON error body and "Connection: close", for replies
// written to the socket before httplib has parsed the request (431, 503 when overloaded).
std::string rawErrorResponse(int status, std::string_view code, std::string_view message,
                             const std::vector<std::pair<std::string, std::string>>& headers = {});

}  // namespace va::service
