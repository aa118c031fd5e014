#include "workloads/prefrontal_cortex/dialogue.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <regex>
#include <set>
#include <utility>

#include "workloads/common/logging.h"
#include "workloads/nlu/facts.h"
#include "workloads/nlu/templates.h"

namespace va::prefrontal_cortex {

using nlohmann::json;
using va::service::Error;
using va::service::jsonErrorReply;
using va::service::Result;

namespace {

constexpr std::size_t kMaxTextBytes = 4000;
constexpr std::size_t kMaxIdBytes = 128;

Reply invalidField(const std::string& field, std::string_view reason) {
  return jsonErrorReply(400, "invalid_field", field + ": " + std::string(reason));
}

// A required (or optional) string field; sets `error` when it is missing or ill-typed.
std::optional<std::string> stringField(const json& object, const std::string& name, bool required,
                                       std::size_t maxBytes, std::optional<Reply>& error) {
  if (!object.contains(name) || object[name].is_null()) {
    if (required) error = invalidField(name, "is required");
    return std::nullopt;
  }
  if (!object[name].is_string()) {
    error = invalidField(name, "must be a string");
    return std::nullopt;
  }
  std::string value = object[name].get<std::string>();
  if (required && value.empty()) {
    error = invalidField(name, "must not be empty");
    return std::nullopt;
  }
  if (value.size() > maxBytes) {
    error = invalidField(name, "longer than " + std::to_string(maxBytes) + " bytes");
    return std::nullopt;
  }
  return value;
}

bool matches(const std::string& value, const char* pattern) {
  return std::regex_match(value, std::regex(pattern));
}

// Does `value` have the form the slot's type produces?
bool wellTyped(const nlu::Assistant& assistant, const std::string& type, const std::string& value) {
  if (type == "number") return matches(value, R"(-?[0-9]+(\.[0-9]+)?)");
  if (type == "date") return matches(value, R"([0-9]{4}-[0-9]{2}-[0-9]{2})");
  if (type == "time") return matches(value, R"([0-9]{2}:[0-9]{2})");
  if (type == "email") return matches(value, R"([^@\s]+@[^@\s]+\.[^@\s]+)");
  for (const nlu::SlotType& slotType : assistant.slot_types) {
    if (slotType.name != type) continue;
    return std::any_of(slotType.values.begin(), slotType.values.end(),
                       [&](const auto& v) { return v.value == value; });
  }
  return false;
}

std::string factsText(const std::vector<Fact>& facts) {
  if (facts.empty()) return "nothing about that yet.";
  std::string out;
  for (const Fact& fact : facts) {
    if (!out.empty()) out += "; ";
    out += fact.value;
  }
  return out + ".";
}

}  // namespace

DialogueManager::DialogueManager(nlu::Assistant assistant, DialogueOptions options,
                                 ShortTermMemory& shortTerm, LongTermMemory& longTerm,
                                 const va::service::HttpClient& client,
                                 prometheus::Registry& registry)
    : assistant_(std::move(assistant)),
      options_(std::move(options)),
      shortTerm_(shortTerm),
      longTerm_(longTerm),
      client_(client),
      steps_(prometheus::BuildCounter()
                 .Name("va_prefrontal_cortex_steps_total")
                 .Help("Dialogue steps decided, by kind (answer, ask_slot, remember, recall, "
                       "action, action_refused, action_failed, replay)")
                 .Register(registry)),
      turnSeconds_(prometheus::BuildHistogram()
                       .Name("va_prefrontal_cortex_turn_duration_seconds")
                       .Help("Time to process one turn, peers included")
                       .Register(registry)
                       .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.0025, 0.005, 0.01,
                                                                        0.025, 0.05, 0.1, 0.25, 0.5,
                                                                        1, 2.5, 5, 10})) {}

Result<json> DialogueManager::call(const std::string& url, const json& body) const {
  auto response = client_.postJson(url, body.dump());
  if (!response.ok()) return response.error().toError();
  json parsed = json::parse(response->body, nullptr, /*allow_exceptions=*/false);
  if (!response->ok()) {
    std::string message = "HTTP " + std::to_string(response->status);
    if (parsed.is_object() && parsed.contains("error") && parsed["error"].is_object()) {
      message += ": " + parsed["error"].value("message", std::string());
    }
    return Error(url + ": " + message);
  }
  if (!parsed.is_object()) return Error(url + ": the reply is not a JSON object");
  return parsed;
}

std::string DialogueManager::validateAction(const nlu::IntentSpec& intent, std::string_view action,
                                            const json& slots) const {
  if (intent.action != action) {
    return "action " + std::string(action) + " is not the action of intent " + intent.name;
  }
  const nlu::ActionSpec* spec = assistant_.findAction(action);
  if (spec == nullptr) return "action " + std::string(action) + " is not defined by the assistant";
  const auto placeholders = nlu::templatePlaceholders(spec->url);
  if (!placeholders.ok()) return "action " + spec->name + ": " + placeholders.error().message();
  for (const std::string& name : *placeholders) {
    if (!slots.contains(name) || !slots[name].is_string()) {
      return "action " + spec->name + " needs slot " + name;
    }
    const auto slot = std::find_if(intent.slots.begin(), intent.slots.end(),
                                   [&](const nlu::SlotSpec& s) { return s.name == name; });
    if (slot == intent.slots.end()) {
      return "action " + spec->name + " uses " + name + ", which is not a slot of " + intent.name;
    }
    if (!wellTyped(assistant_, slot->type, slots[name].get<std::string>())) {
      return "slot " + name + " is not a valid " + slot->type;
    }
  }
  return {};
}

Reply DialogueManager::decide(const json& request, ConversationContext& context, json& reply) {
  const std::string text = request["text"].get<std::string>();
  const std::string user = request.value("user", std::string());
  const auto& conversation = request["conversation_id"].get_ref<const std::string&>();
  const auto& messageId = request["message_id"].get_ref<const std::string&>();

  json understandRequest = {{"text", text}};
  if (!context.pendingIntent.empty()) {
    understandRequest["intent"] = context.pendingIntent;
    json slots = json::object();
    for (const auto& [name, value] : context.slots) slots[name] = value;
    understandRequest["slots"] = std::move(slots);
  }
  Result<json> understood =
      call(options_.peers.languageCenter + "/v1/understand", understandRequest);
  if (!understood.ok()) {
    return jsonErrorReply(502, "language_center_failed", understood.error().message());
  }
  const json& u = *understood;
  const std::string intentName = u.value("intent", std::string(nlu::kOutOfScopeIntent));
  const json slots = u.contains("slots") && u["slots"].is_object() ? u["slots"] : json::object();
  const nlu::IntentSpec* intent = assistant_.findIntent(intentName);
  reply["intent"] = intentName;
  reply["slots"] = slots;
  reply["action"] = nullptr;
  std::string replyText =
      u.contains("reply") && u["reply"].is_string() ? u["reply"].get<std::string>() : "";

  const auto respond = [&](const json& variables) -> Result<std::string> {
    Result<json> responded =
        call(options_.peers.languageCenter + "/v1/respond",
             {{"intent", intentName}, {"slots", slots}, {"variables", variables}});
    if (!responded.ok()) return responded.error();
    if (!(*responded).contains("reply") || !(*responded)["reply"].is_string()) {
      return Error("language center gave no reply for " + intentName);
    }
    return (*responded)["reply"].get<std::string>();
  };

  const json missing = u.value("missing_slots", json::array());
  if (intent != nullptr && missing.is_array() && !missing.empty()) {
    context.pendingIntent = intentName;
    context.slots.clear();
    for (const auto& [name, value] : slots.items()) {
      if (value.is_string()) context.slots[name] = value.get<std::string>();
    }
    if (replyText.empty()) {
      for (const nlu::SlotSpec& slot : intent->slots) {
        if (slot.name == missing.front()) replyText = slot.prompt;
      }
    }
    reply["text"] = replyText;
    steps_.Add({{"step", "ask_slot"}}).Increment();
    return {};
  }
  context.pendingIntent.clear();
  context.slots.clear();

  const json missingVariables = u.value("missing_variables", json::array());
  const bool needsFacts = missingVariables.is_array() &&
                          std::find(missingVariables.begin(), missingVariables.end(), "facts") !=
                              missingVariables.end();
  const std::string action =
      u.contains("action") && u["action"].is_string() ? u["action"].get<std::string>() : "";

  if (intentName == "remember_fact") {
    if (std::optional<nlu::FactText> stated = nlu::extractFact(text)) {
      Fact fact{.key = stated->key,
                .value = stated->value,
                .sourceConversation = conversation,
                .sourceTurn = context.lastSequence + 1,
                .updatedAt = std::chrono::system_clock::now()};
      const va::service::Status saved = longTerm_.remember(user, std::move(fact));
      if (!saved.ok()) return jsonErrorReply(502, "long_term_mem_failed", saved.error().message());
    }
    steps_.Add({{"step", "remember"}}).Increment();
  } else if (needsFacts) {
    Result<std::vector<Fact>> facts = longTerm_.recall(user, text, options_.recallLimit);
    if (!facts.ok()) return jsonErrorReply(502, "long_term_mem_failed", facts.error().message());
    Result<std::string> answer = respond({{"facts", factsText(*facts)}});
    if (!answer.ok())
      return jsonErrorReply(502, "language_center_failed", answer.error().message());
    replyText = *answer;
    reply["facts"] = facts->size();
    steps_.Add({{"step", "recall"}}).Increment();
  } else if (!action.empty() && intent != nullptr) {
    const std::string refused = validateAction(*intent, action, slots);
    if (!refused.empty()) {
      spdlog::warn("action {} refused: {}", action, refused);
      reply["action"] = {{"name", action}, {"status", "refused"}, {"reason", refused}};
      replyText = "Sorry, I can't do that.";
      steps_.Add({{"step", "action_refused"}}).Increment();
    } else {
      Result<json> ran =
          call(options_.peers.actionExecutor + "/v1/actions/" + action + "/run",
               {{"slots", slots}, {"idempotency_key", conversation + ":" + messageId}});
      if (!ran.ok()) {
        spdlog::warn("action {} failed: {}", action, ran.error().message());
        reply["action"] = {{"name", action}, {"status", "failed"}};
        replyText = "Sorry, I couldn't complete that right now. Please try again later.";
        steps_.Add({{"step", "action_failed"}}).Increment();
      } else {
        json variables = json::object();
        if ((*ran).contains("slots") && (*ran)["slots"].is_object()) {
          for (const auto& [name, value] : (*ran)["slots"].items()) {
            variables[name] = value.is_string() ? value.get<std::string>() : value.dump();
          }
        }
        Result<std::string> answer = respond(variables);
        if (!answer.ok()) {
          return jsonErrorReply(502, "language_center_failed", answer.error().message());
        }
        replyText = *answer;
        reply["action"] = {{"name", action},
                           {"status", "ok"},
                           {"http_status", (*ran).value("http_status", 0)},
                           {"result_slots", variables}};
        steps_.Add({{"step", "action"}}).Increment();
      }
    }
  } else {
    steps_.Add({{"step", "answer"}}).Increment();
  }
  if (replyText.empty()) replyText = "Sorry, I didn't get that. Could you rephrase?";
  reply["text"] = replyText;
  return {};
}

Reply DialogueManager::turn(std::string_view body) {
  const auto started = std::chrono::steady_clock::now();
  json request = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (request.is_discarded())
    return jsonErrorReply(400, "malformed_json", "body is not valid JSON");
  if (!request.is_object())
    return jsonErrorReply(400, "invalid_body", "body must be a JSON object");
  static const std::set<std::string, std::less<>> kAllowed = {
      "conversation_id", "message_id", "user", "text", "callback_url", "metadata"};
  for (const auto& [key, value] : request.items()) {
    if (!kAllowed.contains(key)) return invalidField(key, "unknown field");
  }
  std::optional<Reply> error;
  const auto conversation = stringField(request, "conversation_id", true, kMaxIdBytes, error);
  const auto messageId = stringField(request, "message_id", true, kMaxIdBytes, error);
  const auto text = stringField(request, "text", true, kMaxTextBytes, error);
  const auto user = stringField(request, "user", false, kMaxIdBytes, error);
  const auto callbackUrl = stringField(request, "callback_url", false, 2048, error);
  if (error) return *error;
  if (request.contains("metadata") && !request["metadata"].is_null() &&
      !request["metadata"].is_object()) {
    return invalidField("metadata", "must be an object");
  }
  const va::service::ScopedLogContext scope(
      va::service::currentLogContext().withConversationId(*conversation));

  Result<ConversationContext> loaded = shortTerm_.begin(*conversation, options_.turnWait);
  if (!loaded.ok()) {
    Reply busy = jsonErrorReply(503, "conversation_busy", loaded.error().message());
    busy.retryAfterSeconds = 1;
    return busy;
  }
  ConversationContext context = std::move(*loaded);
  // Whatever happens below (an early return, an exception from a peer's odd answer), the turn
  // ends: aborted unless it was committed.
  struct TurnGuard {
    ShortTermMemory& memory;
    const std::string& conversation;
    bool committed = false;
    TurnGuard(ShortTermMemory& m, const std::string& c) : memory(m), conversation(c) {}
    TurnGuard(const TurnGuard&) = delete;
    TurnGuard& operator=(const TurnGuard&) = delete;
    ~TurnGuard() {
      if (!committed) memory.abort(conversation);
    }
  } guard(shortTerm_, *conversation);
  // A message already answered (a client's retry through another replica): the same reply, no
  // second effect.
  for (const Turn& done : context.turns) {
    if (done.messageId != *messageId) continue;
    steps_.Add({{"step", "replay"}}).Increment();
    return Reply{.status = 200,
                 .body = {{"conversation_id", *conversation},
                          {"message_id", *messageId},
                          {"turn", done.sequence},
                          {"replayed", true},
                          {"reply", {{"text", done.reply}, {"intent", done.intent}}},
                          {"callback", nullptr}}};
  }
  if (callbackUrl) context.callbackUrl = *callbackUrl;
  if (user) context.user = *user;
  request["user"] = context.user;

  json reply = json::object();
  Reply decided = decide(request, context, reply);
  if (decided.status != 200) return decided;
  // The turn is recorded before the reply goes out: a retry of this message id then gets the
  // recorded reply instead of running the turn (its action, its callback) a second time.
  const std::int64_t sequence = context.lastSequence + 1;
  context.lastSequence = sequence;
  context.turns.push_back(Turn{.sequence = sequence,
                               .messageId = *messageId,
                               .userText = *text,
                               .intent = reply.value("intent", std::string()),
                               .reply = reply.value("text", std::string())});
  const va::service::Status saved = shortTerm_.commit(*conversation, context);
  if (!saved.ok()) {
    Reply unavailable = jsonErrorReply(503, "short_term_mem_failed", saved.error().message());
    unavailable.retryAfterSeconds = 1;
    return unavailable;
  }
  guard.committed = true;
  json output = {{"conversation_id", *conversation}, {"message_id", *messageId}, {"reply", reply}};
  if (!context.callbackUrl.empty()) output["callback_url"] = context.callbackUrl;
  Result<json> delivered = call(options_.peers.outputManager + "/v1/replies", output);
  if (!delivered.ok()) {
    return jsonErrorReply(502, "output_manager_failed", delivered.error().message());
  }
  turnSeconds_.Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return Reply{.status = 200,
               .body = {{"conversation_id", *conversation},
                        {"message_id", *messageId},
                        {"turn", sequence},
                        {"reply", (*delivered).value("reply", reply)},
                        {"callback", (*delivered).value("callback", json(nullptr))}}};
}

void DialogueManager::addRoutes(va::service::HttpServer& server) {
  server.post("/v1/turns", [this](const httplib::Request& req, httplib::Response& res) {
    va::service::writeJsonReply(res, turn(req.body));
  });
}

}  // namespace va::prefrontal_cortex
