// Error replies in one JSON shape for every component:
//   {"error":{"code":"payload_too_large","message":"body larger than 1048576 bytes"}}
//   setJsonError(res, 404, "conversation_not_found", "no conversation c-1");
#pragma once

#include <httplib.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace va::service {

std::string jsonErrorBody(std::string_view code, std::string_view message);
void setJsonError(httplib::Response& res, int status, std::string_view code,
                  std::string_view message);

// A machine-readable code for a status: 404 -> "not_found", 503 -> "service_unavailable".
std::string errorCodeForStatus(int status);
// The reason phrase: 431 -> "Request Header Fields Too Large".
std::string reasonPhrase(int status);

// A complete HTTP/1.1 response with a JSON error body and "Connection: close", for replies
// written to the socket before httplib has parsed the request (431, 503 when overloaded).
std::string rawErrorResponse(int status, std::string_view code, std::string_view message,
                             const std::vector<std::pair<std::string, std::string>>& headers = {});

}  // namespace va::service
