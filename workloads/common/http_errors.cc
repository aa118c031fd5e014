#include "workloads/common/http_errors.h"

#include <nlohmann/json.hpp>

namespace va::service {

nlohmann::json jsonError(std::string_view code, std::string_view message) {
  return {{"error", {{"code", code}, {"message", message}}}};
}

std::string jsonErrorBody(std::string_view code, std::string_view message) {
  return jsonError(code, message).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

JsonReply jsonErrorReply(int status, std::string_view code, std::string_view message) {
  return {status, jsonError(code, message), std::nullopt};
}

void writeJsonReply(httplib::Response& res, const JsonReply& reply) {
  res.status = reply.status;
  if (reply.retryAfterSeconds) {
    res.set_header("Retry-After", std::to_string(*reply.retryAfterSeconds));
  }
  res.set_content(reply.body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                  "application/json");
}

void setJsonError(httplib::Response& res, int status, std::string_view code,
                  std::string_view message) {
  res.status = status;
  res.set_content(jsonErrorBody(code, message), "application/json");
}

namespace {

struct StatusText {
  int status;
  const char* code;
  const char* reason;
};

// httplib 0.11's split build does not export its reason-phrase table.
constexpr StatusText kStatuses[] = {
    {400, "bad_request", "Bad Request"},
    {401, "unauthorized", "Unauthorized"},
    {403, "forbidden", "Forbidden"},
    {404, "not_found", "Not Found"},
    {405, "method_not_allowed", "Method Not Allowed"},
    {408, "request_timeout", "Request Timeout"},
    {409, "conflict", "Conflict"},
    {413, "payload_too_large", "Payload Too Large"},
    {414, "uri_too_long", "URI Too Long"},
    {415, "unsupported_media_type", "Unsupported Media Type"},
    {416, "range_not_satisfiable", "Range Not Satisfiable"},
    {422, "unprocessable_entity", "Unprocessable Entity"},
    {429, "too_many_requests", "Too Many Requests"},
    {431, "request_header_fields_too_large", "Request Header Fields Too Large"},
    {500, "internal", "Internal Server Error"},
    {502, "bad_gateway", "Bad Gateway"},
    {503, "service_unavailable", "Service Unavailable"},
    {504, "gateway_timeout", "Gateway Timeout"},
};

const StatusText* findStatus(int status) {
  for (const auto& entry : kStatuses) {
    if (entry.status == status) return &entry;
  }
  return nullptr;
}

}  // namespace

std::string errorCodeForStatus(int status) {
  const StatusText* entry = findStatus(status);
  if (entry != nullptr) return entry->code;
  return status >= 500 ? "server_error" : "client_error";
}

std::string reasonPhrase(int status) {
  const StatusText* entry = findStatus(status);
  if (entry != nullptr) return entry->reason;
  return status >= 500 ? "Server Error" : "Client Error";
}

std::string rawErrorResponse(int status, std::string_view code, std::string_view message,
                             const std::vector<std::pair<std::string, std::string>>& headers) {
  const std::string body = jsonErrorBody(code, message);
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reasonPhrase(status) + "\r\n";
  out += "Content-Type: application/json\r\n";
  out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += "Connection: close\r\n";
  for (const auto& [name, value] : headers) {
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  out += "\r\n";
  out += body;
  return out;
}

}  // namespace va::service
