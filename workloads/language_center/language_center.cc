#include "workloads/language_center/language_center.h"

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "workloads/common/http_errors.h"

namespace va::language_center {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

Reply badRequest(std::string_view code, const std::string& message) {
  return va::service::jsonErrorReply(400, code, message);
}

Reply invalidField(const std::string& field, std::string_view reason) {
  return badRequest("invalid_field", field + ": " + std::string(reason));
}

// The request body as a JSON object whose keys are all in `allowed`.
struct Parsed {
  json object;
  std::optional<Reply> error;
};

Parsed parseObject(std::string_view body, const std::set<std::string, std::less<>>& allowed) {
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return {{}, badRequest("malformed_json", "body is not valid JSON")};
  if (!parsed.is_object()) return {{}, badRequest("invalid_body", "body must be a JSON object")};
  for (const auto& [key, value] : parsed.items()) {
    if (!allowed.contains(key)) return {{}, invalidField(key, "unknown field")};
  }
  return {std::move(parsed), std::nullopt};
}

// An optional object of strings, such as "slots".
std::optional<Reply> readValues(const json& object, const std::string& field, nlu::Values& out) {
  if (!object.contains(field) || object[field].is_null()) return std::nullopt;
  const json& values = object[field];
  if (!values.is_object()) return invalidField(field, "must be an object of strings");
  for (const auto& [key, value] : values.items()) {
    if (!value.is_string()) {
      std::string path = field;
      path.append(".").append(key);
      return invalidField(path, "must be a string");
    }
    if (key.empty()) return invalidField(field, "keys must not be empty");
    out[key] = value.get<std::string>();
  }
  return std::nullopt;
}

std::optional<std::chrono::year_month_day> parseDate(std::string_view text) {
  int y = 0;
  unsigned m = 0;
  unsigned d = 0;
  if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
  const auto number = [&](std::size_t at, std::size_t len, auto& out) {
    const char* first = text.data() + at;
    const auto [end, ec] = std::from_chars(first, first + len, out);
    return ec == std::errc() && end == first + len;
  };
  if (!number(0, 4, y) || !number(5, 2, m) || !number(8, 2, d)) return std::nullopt;
  const std::chrono::year_month_day date{std::chrono::year{y}, std::chrono::month{m},
                                         std::chrono::day{d}};
  if (!date.ok()) return std::nullopt;
  return date;
}

json entitiesJson(const std::vector<nlu::Entity>& entities) {
  json out = json::array();
  for (const nlu::Entity& e : entities) {
    out.push_back({{"type", e.type}, {"value", e.value}, {"start", e.start}, {"end", e.end}});
  }
  return out;
}

json valuesJson(const nlu::Values& values) {
  json out = json::object();
  for (const auto& [key, value] : values) out[key] = value;
  return out;
}

std::vector<std::string> missingSlots(const nlu::IntentSpec* intent, const nlu::Values& slots) {
  std::vector<std::string> missing;
  if (intent == nullptr) return missing;
  for (const nlu::SlotSpec& slot : intent->slots) {
    if (slot.required && !slots.contains(slot.name)) missing.push_back(slot.name);
  }
  return missing;
}

// The reply text, or null and the reason: the intent's variables the caller did not give (the
// dialogue manager fills them, "facts" for recall_fact, and asks /v1/respond), or the engine's.
void putReply(const nlu::NluEngine& engine, const nlu::IntentSpec* intent,
              const nlu::Understanding& understanding, const nlu::Values& variables, json& out) {
  std::vector<std::string> missing;
  if (intent != nullptr && understanding.missing_slots.empty()) {
    for (const std::string& name : intent->variables) {
      if (!variables.contains(name)) missing.push_back(name);
    }
  }
  out["missing_variables"] = missing;
  va::service::Result<std::string> reply = engine.respond(understanding, variables);
  if (reply.ok()) {
    out["reply"] = *reply;
    out["reply_error"] = nullptr;
    return;
  }
  out["reply"] = nullptr;
  std::string reason = reply.error().message();
  if (!missing.empty()) {
    reason = "the response needs the variables:";
    for (const std::string& name : missing) reason += " " + name;
  }
  out["reply_error"] = reason;
}

}  // namespace

std::chrono::year_month_day LanguageCenter::systemToday() {
  return std::chrono::year_month_day{
      std::chrono::floor<std::chrono::days>(std::chrono::system_clock::now())};
}

va::service::Result<LanguageCenter> LanguageCenter::create(nlu::Assistant assistant,
                                                           prometheus::Registry& registry,
                                                           Today today,
                                                           std::optional<OpenAiOptions> backend) {
  const auto start = Clock::now();
  va::service::Result<nlu::NluEngine> engine = nlu::NluEngine::create(std::move(assistant));
  if (!engine.ok()) return engine.error().withContext("training the intent classifier");
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return LanguageCenter(std::move(engine).value(), registry, std::move(today), seconds,
                        std::move(backend));
}

LanguageCenter::LanguageCenter(nlu::NluEngine engine, prometheus::Registry& registry, Today today,
                               double trainingSeconds, std::optional<OpenAiOptions> backend)
    : engine_(std::move(engine)), today_(std::move(today)), trainingSeconds_(trainingSeconds) {
  if (backend) backend_.emplace(std::move(*backend));
  auto& model = prometheus::BuildCounter()
                    .Name("va_language_center_model_requests_total")
                    .Help(
                        "Calls to the model backend, by outcome (failed: the built-in NLU "
                        "answered instead).")
                    .Register(registry);
  modelOk_ = &model.Add({{"outcome", "ok"}});
  modelFailed_ = &model.Add({{"outcome", "failed"}});
  understood_ = &prometheus::BuildCounter()
                     .Name("va_language_center_understood_total")
                     .Help("Utterances understood, by the intent chosen (out_of_scope included).")
                     .Register(registry);
  understandSeconds_ =
      &prometheus::BuildHistogram()
           .Name("va_language_center_understand_duration_seconds")
           .Help("Time to classify an utterance, extract entities, fill slots and render.")
           .Register(registry)
           .Add({}, prometheus::Histogram::BucketBoundaries{0.00005, 0.0001, 0.00025, 0.0005, 0.001,
                                                            0.0025, 0.005, 0.01, 0.05});
  // Every intent's series exists from the start, so dashboards and alerts see zeros.
  understood_->Add({{"intent", std::string(nlu::kOutOfScopeIntent)}});
  for (const nlu::IntentSpec& intent : engine_.assistant().intents) {
    understood_->Add({{"intent", intent.name}});
  }
}

Reply LanguageCenter::understand(std::string_view body) const {
  const auto start = Clock::now();
  Parsed parsed = parseObject(body, {"text", "intent", "slots", "variables", "today"});
  if (parsed.error) return *parsed.error;
  const json& request = parsed.object;

  if (!request.contains("text")) return invalidField("text", "is required");
  if (!request["text"].is_string()) return invalidField("text", "must be a string");
  const std::string text = request["text"].get<std::string>();
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    return invalidField("text", "must not be empty");
  }
  if (text.size() > kMaxTextBytes) {
    return invalidField("text", "longer than " + std::to_string(kMaxTextBytes) + " bytes");
  }
  std::optional<std::string> pending;
  if (request.contains("intent") && !request["intent"].is_null()) {
    if (!request["intent"].is_string()) return invalidField("intent", "must be a string");
    pending = request["intent"].get<std::string>();
    if (engine_.assistant().findIntent(*pending) == nullptr) {
      return invalidField("intent", "'" + *pending + "' is not an intent of the assistant");
    }
  }
  nlu::Values known;
  nlu::Values variables;
  if (auto error = readValues(request, "slots", known)) return *error;
  if (auto error = readValues(request, "variables", variables)) return *error;
  std::chrono::year_month_day today = today_();
  if (request.contains("today") && !request["today"].is_null()) {
    if (!request["today"].is_string()) return invalidField("today", "must be a string");
    std::optional<std::chrono::year_month_day> date =
        parseDate(request["today"].get<std::string>());
    if (!date) return invalidField("today", "must be a date YYYY-MM-DD");
    today = *date;
  }

  // The model first, when there is one; the built-in NLU always extracts the entities and
  // answers alone when the model fails.
  std::optional<ModelAnswer> model;
  json fallbackReason = nullptr;
  if (backend_) {
    va::service::Result<ModelAnswer> answer = backend_->understand(engine_.assistant(), text);
    if (answer.ok()) {
      model = std::move(answer).value();
      modelOk_->Increment();
    } else {
      fallbackReason = answer.error().message();
      modelFailed_->Increment();
      spdlog::warn("model backend failed, the built-in NLU answers: {}", answer.error().message());
    }
  }
  const nlu::Understanding classified = engine_.understand(text, today);
  nlu::Understanding result;
  result.intent = model ? model->intent : classified.intent;
  result.confidence = classified.confidence;
  result.entities = classified.entities;
  if (model) {
    for (const auto& [name, value] : model->slots) known[name] = value;
  }
  // A conversation waiting for a slot continues its intent when the utterance gives one of the
  // slots it still misses ("tomorrow", although "will it rain tomorrow" is weather), or when it
  // is not clearly about something else.
  bool continues =
      pending && (result.intent == nlu::kOutOfScopeIntent || result.intent == *pending);
  if (pending && !continues) {
    const nlu::IntentSpec* waiting = engine_.assistant().findIntent(*pending);
    const nlu::Values filled = engine_.fillSlots(*pending, result.entities, known);
    for (const std::string& slot : missingSlots(waiting, known)) {
      if (filled.contains(slot)) continues = true;
    }
  }
  if (continues) result.intent = *pending;
  const nlu::IntentSpec* intent = engine_.assistant().findIntent(result.intent);
  if (intent != nullptr) {
    result.slots = engine_.fillSlots(result.intent, result.entities, known);
    result.missing_slots = missingSlots(intent, result.slots);
  }

  json out = {{"intent", result.intent},
              {"confidence", model ? json(nullptr) : json(result.confidence)},
              {"continued", continues},
              {"entities", entitiesJson(result.entities)},
              {"slots", valuesJson(result.slots)},
              {"missing_slots", result.missing_slots},
              {"action", nullptr},
              {"source", model ? "openai" : "builtin"},
              {"fallback_reason", fallbackReason}};
  if (intent != nullptr && !intent->action.empty() && result.missing_slots.empty()) {
    out["action"] = intent->action;
  }
  putReply(engine_, intent, result, variables, out);
  understood_->Add({{"intent", result.intent}}).Increment();
  understandSeconds_->Observe(std::chrono::duration<double>(Clock::now() - start).count());
  return {200, std::move(out), std::nullopt};
}

Reply LanguageCenter::respond(std::string_view body) const {
  Parsed parsed = parseObject(body, {"intent", "slots", "variables"});
  if (parsed.error) return *parsed.error;
  const json& request = parsed.object;
  if (!request.contains("intent")) return invalidField("intent", "is required");
  if (!request["intent"].is_string()) return invalidField("intent", "must be a string");
  nlu::Understanding understanding;
  understanding.intent = request["intent"].get<std::string>();
  const nlu::IntentSpec* intent = engine_.assistant().findIntent(understanding.intent);
  if (intent == nullptr && understanding.intent != nlu::kOutOfScopeIntent) {
    return invalidField("intent",
                        "'" + understanding.intent + "' is not an intent of the assistant");
  }
  nlu::Values variables;
  if (auto error = readValues(request, "slots", understanding.slots)) return *error;
  if (auto error = readValues(request, "variables", variables)) return *error;
  understanding.missing_slots = missingSlots(intent, understanding.slots);
  json out = {{"intent", understanding.intent}, {"missing_slots", understanding.missing_slots}};
  putReply(engine_, intent, understanding, variables, out);
  return {200, std::move(out), std::nullopt};
}

Reply LanguageCenter::describeAssistant() const {
  const nlu::Assistant& assistant = engine_.assistant();
  json intents = json::array();
  for (const nlu::IntentSpec& intent : assistant.intents) {
    json slots = json::array();
    for (const nlu::SlotSpec& slot : intent.slots) {
      slots.push_back({{"name", slot.name}, {"type", slot.type}, {"required", slot.required}});
    }
    intents.push_back({{"name", intent.name},
                       {"slots", std::move(slots)},
                       {"variables", intent.variables},
                       {"action", intent.action.empty() ? json(nullptr) : json(intent.action)}});
  }
  json actions = json::array();
  for (const nlu::ActionSpec& action : assistant.actions) {
    actions.push_back({{"name", action.name}, {"method", action.method}, {"url", action.url}});
  }
  return {200,
          {{"name", assistant.name},
           {"intents", std::move(intents)},
           {"actions", std::move(actions)},
           {"out_of_scope", {{"threshold", assistant.out_of_scope.threshold}}}}};
}

void LanguageCenter::addRoutes(va::service::HttpServer& server) const {
  using va::service::writeJsonReply;
  server.post("/v1/understand", [this](const httplib::Request& req, httplib::Response& res) {
    writeJsonReply(res, understand(req.body));
  });
  server.post("/v1/respond", [this](const httplib::Request& req, httplib::Response& res) {
    writeJsonReply(res, respond(req.body));
  });
  server.get("/v1/assistant", [this](const httplib::Request&, httplib::Response& res) {
    writeJsonReply(res, describeAssistant());
  });
}

}  // namespace va::language_center
