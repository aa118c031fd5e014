// The language center's built-in NLU: trains the intent classifier from an assistant definition
// at start-up, turns an utterance into an intent with entities and slot values, and renders the
// reply (the prompt for a missing slot, or a filled response template).
//   Result<NluEngine> engine = NluEngine::create(*defaultAssistant());
//   Understanding u = engine->understand("table for 2 tomorrow at 7pm", today);
//   Result<std::string> reply = engine->respond(u);  // "Booked a table for 2 on ... at 19:00."
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "workloads/nlu/assistant.h"
#include "workloads/nlu/classifier.h"
#include "workloads/nlu/entities.h"
#include "workloads/nlu/result.h"

namespace va::nlu {

using Values = std::map<std::string, std::string, std::less<>>;

struct Understanding {
  std::string intent;  // kOutOfScopeIntent when the utterance is out of scope
  float confidence = 0;
  std::vector<Entity> entities;
  Values slots;                            // slot name -> value taken from the entities
  std::vector<std::string> missing_slots;  // required slots without a value, in declared order
};

class NluEngine {
 public:
  // Trains on every intent's examples (and the out-of-scope examples as a class of their own).
  // Small assistants get more epochs and keep features seen only once, so a few examples per
  // intent are enough.
  static Result<NluEngine> create(Assistant assistant, TrainingOptions options = {});

  [[nodiscard]] Understanding understand(std::string_view text,
                                         std::chrono::year_month_day today) const;

  // Slots of `intent` filled from entities, each slot taking the first unused entity of its
  // type; values already in `known` (from earlier turns) are kept.
  [[nodiscard]] Values fillSlots(std::string_view intent, const std::vector<Entity>& entities,
                                 const Values& known = {}) const;

  // The reply to an understanding: the out-of-scope response, the prompt of the first missing
  // required slot, or the first response template whose placeholders all have values (slots,
  // then `variables`). Fails when no template can be filled.
  [[nodiscard]] Result<std::string> respond(const Understanding& understanding,
                                            const Values& variables = {}) const;

  [[nodiscard]] const Assistant& assistant() const { return assistant_; }
  [[nodiscard]] const IntentClassifier& classifier() const { return classifier_; }

 private:
  NluEngine(Assistant assistant, IntentClassifier classifier)
      : assistant_(std::move(assistant)),
        classifier_(std::move(classifier)),
        entities_(assistant_.slot_types) {}

  Assistant assistant_;
  IntentClassifier classifier_;
  EntityExtractor entities_;
};

}  // namespace va::nlu
