#include "operator/kube/events.h"

#include <cstdint>
#include <cstdio>
#include <ctime>

#include "operator/kube/resource_path.h"

namespace va::kube {
namespace {

// validation.NoteLengthLimit in k8s.io/kubernetes/pkg/apis/core/validation/events.go.
constexpr std::size_t kMaxNoteBytes = 1024;

std::string stringAt(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return {};
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Cuts at a byte limit without splitting a UTF-8 sequence.
std::string truncateUtf8(std::string_view text, std::size_t limit) {
  if (text.size() <= limit) return std::string(text);
  std::size_t cut = limit;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0U) == 0x80U) --cut;
  return std::string(text.substr(0, cut));
}

}  // namespace

ObjectReference ObjectReference::to(const nlohmann::json& object) {
  ObjectReference ref;
  ref.apiVersion = stringAt(object, "apiVersion");
  ref.kind = stringAt(object, "kind");
  if (object.is_object()) {
    if (const auto meta = object.find("metadata"); meta != object.end()) {
      ref.namespaceName = stringAt(*meta, "namespace");
      ref.name = stringAt(*meta, "name");
      ref.uid = stringAt(*meta, "uid");
      ref.resourceVersion = stringAt(*meta, "resourceVersion");
    }
  }
  return ref;
}

nlohmann::json ObjectReference::toJson() const {
  nlohmann::json out = nlohmann::json::object();
  const auto put = [&](const char* key, const std::string& value) {
    if (!value.empty()) out[key] = value;
  };
  put("apiVersion", apiVersion);
  put("kind", kind);
  put("namespace", namespaceName);
  put("name", name);
  put("uid", uid);
  put("resourceVersion", resourceVersion);
  put("fieldPath", fieldPath);
  return out;
}

std::string formatMicroTime(std::chrono::system_clock::time_point time) {
  using std::chrono::duration_cast;
  using std::chrono::microseconds;
  const auto sinceEpoch = duration_cast<microseconds>(time.time_since_epoch());
  auto seconds = std::chrono::floor<std::chrono::seconds>(sinceEpoch);
  const auto micros = duration_cast<microseconds>(sinceEpoch - seconds).count();
  const auto clock = static_cast<std::time_t>(seconds.count());
  std::tm utc{};
  gmtime_r(&clock, &utc);
  char buffer[96];  // room for any int the formats could print
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                static_cast<long long>(micros));
  return buffer;
}

std::string eventNamespace(const ObjectReference& regarding) {
  return regarding.namespaceName.empty() ? "default" : regarding.namespaceName;
}

nlohmann::json eventObject(const EventSpec& spec, std::chrono::system_clock::time_point now) {
  const auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch());
  char suffix[24];
  std::snprintf(suffix, sizeof suffix, "%llx", static_cast<unsigned long long>(nanos.count()));
  nlohmann::json event = {
      {"apiVersion", "events.k8s.io/v1"},
      {"kind", "Event"},
      {"metadata",
       {{"name", spec.regarding.name + "." + suffix},
        {"namespace", eventNamespace(spec.regarding)}}},
      {"eventTime", formatMicroTime(now)},
      {"regarding", spec.regarding.toJson()},
      {"type", spec.type == EventType::kWarning ? "Warning" : "Normal"},
      {"reason", spec.reason},
      {"action", spec.action},
      {"note", truncateUtf8(spec.note, kMaxNoteBytes)},
      {"reportingController", spec.reportingController},
      {"reportingInstance", spec.reportingInstance},
  };
  if (spec.related) event["related"] = spec.related->toJson();
  return event;
}

ApiResult<nlohmann::json> createEvent(Client& client, const EventSpec& spec,
                                      std::chrono::system_clock::time_point now) {
  const std::string path =
      resourcePath("events.k8s.io", "v1", "events", eventNamespace(spec.regarding));
  for (const auto& [field, value] :
       {std::pair<const char*, const std::string*>{"regarding.name", &spec.regarding.name},
        {"reason", &spec.reason},
        {"action", &spec.action},
        {"reportingController", &spec.reportingController},
        {"reportingInstance", &spec.reportingInstance}}) {
    if (value->empty()) {
      return ApiError::encode(std::string("event ") + field + " is required")
          .withRequest("POST", path);
    }
  }
  return client.create(path, eventObject(spec, now));
}

}  // namespace va::kube
