// prefrontal-cortex, the dialogue manager. For each user message (a turn) it
//   1. waits for the conversation's previous turn to end and loads its context (ShortTermMemory),
//   2. asks language-center what the user means (/v1/understand, with the intent still waiting
//      for a slot and the slots known so far),
//   3. decides the next step: ask for a missing slot; remember a fact or recall facts
//      (LongTermMemory); call an action, after validating it against the assistant's schema and
//      allowlist (the action must be the intent's own, every slot it uses present and well
//      typed), through action-executor; or answer,
//   4. records the turn (commit), then hands the reply to output-manager, which answers at once
//      and delivers the signed callback when the conversation has a callback URL. A retry of a
//      recorded message id gets the recorded reply; nothing runs twice.
//   POST /v1/turns {"conversation_id","message_id","user","text","callback_url"?,"metadata"?}
//     -> 200 {"conversation_id","message_id","turn","reply":{"text","intent","slots",
//             "action"},"callback"}
//   A peer that fails gets 502 (503 when the conversation is busy beyond the wait); bad input
//   gets 400 naming the field. A turn that fails before it is recorded leaves the context as it
//   was; the conversation is released whatever happens (an exception included).
#pragma once

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "workloads/common/http_client.h"
#include "workloads/common/http_errors.h"
#include "workloads/common/http_server.h"
#include "workloads/nlu/assistant.h"
#include "workloads/prefrontal_cortex/memory.h"

namespace va::prefrontal_cortex {

using Reply = va::service::JsonReply;

struct Peers {
  std::string languageCenter;  // base URLs: "http://127.0.0.1:8082"
  std::string actionExecutor;
  std::string outputManager;
};

struct DialogueOptions {
  Peers peers;
  std::chrono::milliseconds turnWait{10000};  // how long a turn waits for the previous one
  std::size_t recallLimit = 5;
};

class DialogueManager {
 public:
  DialogueManager(nlu::Assistant assistant, DialogueOptions options, ShortTermMemory& shortTerm,
                  LongTermMemory& longTerm, const va::service::HttpClient& client,
                  prometheus::Registry& registry);

  [[nodiscard]] Reply turn(std::string_view body);
  void addRoutes(va::service::HttpServer& server);

  // Why an action may not run: empty when it may. Checks the allowlist (the action must be the
  // intent's own and defined by the assistant) and the schema (every placeholder of its URL has
  // a slot of the right type).
  [[nodiscard]] std::string validateAction(const nlu::IntentSpec& intent, std::string_view action,
                                           const nlohmann::json& slots) const;

 private:
  [[nodiscard]] va::service::Result<nlohmann::json> call(const std::string& url,
                                                         const nlohmann::json& body) const;
  [[nodiscard]] Reply decide(const nlohmann::json& request, ConversationContext& context,
                             nlohmann::json& reply);

  nlu::Assistant assistant_;
  DialogueOptions options_;
  ShortTermMemory& shortTerm_;
  LongTermMemory& longTerm_;
  const va::service::HttpClient& client_;
  prometheus::Family<prometheus::Counter>& steps_;
  prometheus::Histogram& turnSeconds_;
};

}  // namespace va::prefrontal_cortex
