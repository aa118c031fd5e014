#include "workloads/nlu/engine.h"

#include <algorithm>

#include "workloads/nlu/templates.h"

namespace va::nlu {
namespace {

// Below this many examples an assistant is "small": see NluEngine::create.
constexpr std::size_t kSmallAssistant = 5000;
constexpr double kSmallAssistantSteps = 20000;

}  // namespace

Result<NluEngine> NluEngine::create(Assistant assistant, TrainingOptions options) {
  std::vector<LabeledText> examples;
  for (const IntentSpec& intent : assistant.intents) {
    for (const std::string& example : intent.examples) examples.push_back({example, intent.name});
  }
  for (const std::string& example : assistant.out_of_scope.examples) {
    examples.push_back({example, std::string(kOutOfScopeIntent)});
  }
  options.out_of_scope_label = kOutOfScopeIntent;
  options.out_of_scope_class = true;
  options.threshold = assistant.out_of_scope.threshold;
  if (examples.size() < kSmallAssistant) {
    options.min_feature_count = 1;
    const double epochs = kSmallAssistantSteps / static_cast<double>(examples.size());
    options.epochs = std::clamp(static_cast<int>(epochs), options.epochs, 200);
  }
  Result<IntentClassifier> classifier = IntentClassifier::train(examples, options);
  if (!classifier) return classifier.error().withContext("training the intent classifier");
  return NluEngine(std::move(assistant), std::move(*classifier));
}

Understanding NluEngine::understand(std::string_view text,
                                    std::chrono::year_month_day today) const {
  const Classification c = classifier_.classify(text);
  Understanding u;
  u.intent = std::string(c.intent);
  u.confidence = c.confidence;
  u.entities = entities_.extract(text, today);
  if (const IntentSpec* intent = assistant_.findIntent(u.intent)) {
    u.slots = fillSlots(u.intent, u.entities);
    for (const SlotSpec& slot : intent->slots) {
      if (slot.required && u.slots.count(slot.name) == 0) u.missing_slots.push_back(slot.name);
    }
  }
  return u;
}

Values NluEngine::fillSlots(std::string_view intent, const std::vector<Entity>& entities,
                            const Values& known) const {
  Values slots = known;
  const IntentSpec* spec = assistant_.findIntent(intent);
  if (spec == nullptr) return slots;
  std::vector<bool> used(entities.size(), false);
  for (const SlotSpec& slot : spec->slots) {
    if (slots.count(slot.name) != 0) continue;
    for (std::size_t i = 0; i < entities.size(); ++i) {
      if (!used[i] && entities[i].type == slot.type) {
        slots[slot.name] = entities[i].value;
        used[i] = true;
        break;
      }
    }
  }
  return slots;
}

Result<std::string> NluEngine::respond(const Understanding& understanding,
                                       const Values& variables) const {
  const IntentSpec* intent = assistant_.findIntent(understanding.intent);
  if (intent == nullptr) {
    if (assistant_.out_of_scope.responses.empty()) return Error("out_of_scope: no responses");
    return assistant_.out_of_scope.responses.front();
  }
  for (const SlotSpec& slot : intent->slots) {
    if (slot.required && understanding.slots.count(slot.name) == 0) return slot.prompt;
  }
  Values values = understanding.slots;
  values.insert(variables.begin(), variables.end());
  for (const std::string& response : intent->responses) {
    if (Result<std::string> text = fillTemplate(response, values)) return text;
  }
  return Error("intent \"" + intent->name + "\": no response template can be filled from " +
               std::to_string(values.size()) + " values");
}

}  // namespace va::nlu
