// The language center's HTTP API over the built-in NLU (workloads/nlu): intent and entity
// recognition, slot filling across turns and the reply text. prefrontal-cortex is its client.
//   POST /v1/understand  {"text", "intent"?, "slots"?, "variables"?, "today"?}
//     -> {"intent","confidence","entities":[...],"slots":{...},"missing_slots":[...],
//         "action","reply","reply_error","missing_variables":[...],"source","fallback_reason"}
//     With a model backend (OpenAI-compatible, openai_backend.h) the model picks the intent and
//     reads slot values ("source":"openai"); when it fails or times out the built-in NLU answers
//     ("source":"builtin", "fallback_reason" says why). Entities always come from the built-in
//     extractors, and fill the slots the model left out.
//     "intent" is the intent of a conversation waiting for a slot (the previous turn asked for
//     it): an utterance classified as out of scope or as the same intent continues it, so that
//     "at 7pm" fills book_table's time. "slots" are the values known from earlier turns.
//   POST /v1/respond     {"intent", "slots"?, "variables"?} -> {"reply"} (after an action or a
//                        recall, the dialogue manager fills "variables" such as "facts")
//   GET  /v1/assistant   the assistant's intents, slots and actions (the schema and allowlist
//                        prefrontal-cortex validates proposed actions against)
// Bad input gets 400 naming the field: {"error":{"code":"invalid_field","message":"text: ..."}}.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "workloads/common/http_errors.h"
#include "workloads/common/http_server.h"
#include "workloads/common/result.h"
#include "workloads/language_center/openai_backend.h"
#include "workloads/nlu/engine.h"

namespace va::language_center {

// An HTTP answer before it is written (the service library's).
using Reply = va::service::JsonReply;

// Longest utterance accepted, in bytes.
inline constexpr std::size_t kMaxTextBytes = 4000;

class LanguageCenter {
 public:
  using Today = std::function<std::chrono::year_month_day()>;

  // Trains the engine (well under a second for an assistant of this size). With `backend`,
  // the model answers first and the engine is the fallback.
  static va::service::Result<LanguageCenter> create(
      nlu::Assistant assistant, prometheus::Registry& registry, Today today = systemToday,
      std::optional<OpenAiOptions> backend = std::nullopt);

  // The handlers, on request bodies; they never throw on bad input.
  [[nodiscard]] Reply understand(std::string_view body) const;
  [[nodiscard]] Reply respond(std::string_view body) const;
  [[nodiscard]] Reply describeAssistant() const;

  // Registers the three routes on `server`.
  void addRoutes(va::service::HttpServer& server) const;

  [[nodiscard]] const nlu::NluEngine& engine() const { return engine_; }
  [[nodiscard]] double trainingSeconds() const { return trainingSeconds_; }

  static std::chrono::year_month_day systemToday();

 private:
  LanguageCenter(nlu::NluEngine engine, prometheus::Registry& registry, Today today,
                 double trainingSeconds, std::optional<OpenAiOptions> backend);

  nlu::NluEngine engine_;
  Today today_;
  double trainingSeconds_;
  std::optional<OpenAiBackend> backend_;
  prometheus::Family<prometheus::Counter>* understood_;
  prometheus::Histogram* understandSeconds_;
  prometheus::Counter* modelOk_;
  prometheus::Counter* modelFailed_;
};

}  // namespace va::language_center
