#include "operator/kube/client.h"

#include <string>
#include <utility>

#include "operator/kube/curl_call.h"

namespace va::kube {
namespace {

constexpr std::string_view kDefaultPageSize = "500";

bool hasQueryKey(std::string_view path, std::string_view key) {
  const auto query = path.find('?');
  if (query == std::string_view::npos) return false;
  const std::string needle = std::string(key) + "=";
  for (auto at = path.find(needle, query); at != std::string_view::npos;
       at = path.find(needle, at + 1)) {
    if (path[at - 1] == '?' || path[at - 1] == '&') return true;
  }
  return false;
}

// A call with a JSON body (or none) whose answer is JSON (or empty), through client.request().
ApiResult<nlohmann::json> jsonCall(Client& client, std::string_view method, std::string_view path,
                                   const nlohmann::json* body,
                                   std::string_view contentType = "application/json") {
  std::string encoded;
  if (body != nullptr) {
    try {
      encoded = body->dump();
    } catch (const nlohmann::json::exception&) {
      // The exception names the offending byte, which may belong to a secret.
      return ApiError::encode("the request body contains a string that is not valid UTF-8")
          .withRequest(method, path);
    }
  }
  auto response = client.request(method, path, encoded, body != nullptr ? contentType : "");
  if (!response) return response.error();
  if (response->body.empty()) return nlohmann::json();
  auto parsed = nlohmann::json::parse(response->body, nullptr, false);
  if (parsed.is_discarded()) {
    return ApiError::decode(response->status, "response body is not JSON (Content-Type \"" +
                                                  response->header("Content-Type") + "\")")
        .withRequest(method, path);
  }
  return parsed;
}

}  // namespace

void CancelToken::cancel() { cancelled_.store(true, std::memory_order_relaxed); }

bool CancelToken::cancelled() const { return cancelled_.load(std::memory_order_relaxed); }

std::string Response::header(std::string_view name) const {
  const auto it = headers.find(detail::lowerCase(name));
  return it == headers.end() ? std::string() : it->second;
}

std::string_view patchContentType(PatchType type) {
  switch (type) {
    case PatchType::kApply:
      return "application/apply-patch+yaml";
    case PatchType::kMerge:
      return "application/merge-patch+json";
    case PatchType::kJson:
      return "application/json-patch+json";
    case PatchType::kStrategicMerge:
      return "application/strategic-merge-patch+json";
  }
  return "application/merge-patch+json";
}

std::string statusPath(std::string_view path) {
  const auto query = path.find('?');
  std::string out(path.substr(0, query));
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  out += "/status";
  if (query != std::string_view::npos) out += path.substr(query);
  return out;
}

ApiResult<nlohmann::json> Client::patch(std::string_view path, PatchType type,
                                        const nlohmann::json& body, const PatchOptions& options) {
  if (type == PatchType::kApply && options.fieldManager.empty()) {
    return ApiError::encode("server-side apply needs a field manager").withRequest("PATCH", path);
  }
  std::string target(path);
  if (!options.fieldManager.empty())
    target = withQuery(target, "fieldManager", options.fieldManager);
  if (options.force && type == PatchType::kApply) target = withQuery(target, "force", "true");
  return jsonCall(*this, "PATCH", target, &body, patchContentType(type));
}

ApiResult<nlohmann::json> Client::apply(std::string_view path, const nlohmann::json& object,
                                        std::string_view fieldManager, bool force) {
  return patch(path, PatchType::kApply, object, PatchOptions{std::string(fieldManager), force});
}

ApiResult<nlohmann::json> Client::mergePatch(std::string_view path, const nlohmann::json& patch) {
  return this->patch(path, PatchType::kMerge, patch);
}

ApiResult<nlohmann::json> Client::jsonPatch(std::string_view path,
                                            const nlohmann::json& operations) {
  return patch(path, PatchType::kJson, operations);
}

ApiResult<nlohmann::json> Client::replaceStatus(std::string_view path,
                                                const nlohmann::json& object) {
  return replace(statusPath(path), object);
}

ApiResult<nlohmann::json> Client::applyStatus(std::string_view path, const nlohmann::json& object,
                                              std::string_view fieldManager, bool force) {
  return apply(statusPath(path), object, fieldManager, force);
}

ApiResult<nlohmann::json> Client::patchStatus(std::string_view path, PatchType type,
                                              const nlohmann::json& body,
                                              const PatchOptions& options) {
  return patch(statusPath(path), type, body, options);
}

ApiResult<nlohmann::json> ClientImpl::get(std::string_view path) {
  return jsonCall(*this, "GET", path, nullptr);
}

ApiResult<nlohmann::json> ClientImpl::list(std::string_view path) {
  const std::string firstPage =
      hasQueryKey(path, "limit") ? std::string(path) : withQuery(path, "limit", kDefaultPageSize);
  nlohmann::json result;
  std::string pagePath = firstPage;
  while (true) {
    auto page = jsonCall(*this, "GET", pagePath, nullptr);
    if (!page) return page.error();
    if (!page->is_object() || !page->contains("items") ||
        !(page->at("items").is_array() || page->at("items").is_null())) {
      return ApiError::decode(200, "the answer is not a List (no items array)")
          .withRequest("GET", pagePath);
    }
    // The server sends "items": null for an empty list.
    if (page->at("items").is_null()) (*page)["items"] = nlohmann::json::array();
    std::string continueToken;
    if (const auto meta = page->find("metadata"); meta != page->end() && meta->is_object()) {
      if (const auto token = meta->find("continue"); token != meta->end() && token->is_string()) {
        continueToken = token->get<std::string>();
      }
    }
    if (result.is_null()) {
      result = std::move(*page);
    } else {
      auto& items = result["items"];
      for (auto& item : page->at("items")) items.push_back(std::move(item));
    }
    if (continueToken.empty()) break;
    pagePath = withQuery(firstPage, "continue", continueToken);
  }
  if (auto meta = result.find("metadata"); meta != result.end() && meta->is_object()) {
    meta->erase("continue");
    meta->erase("remainingItemCount");
  }
  return result;
}

ApiResult<nlohmann::json> ClientImpl::create(std::string_view path, const nlohmann::json& object) {
  return jsonCall(*this, "POST", path, &object);
}

ApiResult<nlohmann::json> ClientImpl::replace(std::string_view path, const nlohmann::json& object) {
  return jsonCall(*this, "PUT", path, &object);
}

ApiResult<nlohmann::json> ClientImpl::remove(std::string_view path, const nlohmann::json& options) {
  return jsonCall(*this, "DELETE", path, options.is_null() ? nullptr : &options);
}

ApiResult<std::string> serverVersion(Client& client) {
  auto version = client.get("/version");
  if (!version) return version.error();
  if (const auto git = version->find("gitVersion");
      version->is_object() && git != version->end() && git->is_string()) {
    return git->get<std::string>();
  }
  return ApiError::decode(200, "the answer has no gitVersion").withRequest("GET", "/version");
}

}  // namespace va::kube
