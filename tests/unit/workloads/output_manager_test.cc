// output-manager: webhook signatures (checked against Python's hmac for the same input),
// deliveries to a receiver on 127.0.0.1 (signed, retried on 5xx with backoff, not retried on
// 4xx, dead-lettered after the last attempt or at shutdown), the queue bound, and the API's
// bad-input answers. The SSRF guard: 127.0.0.1 is opted in (WEBHOOK_ALLOW_ADDRESSES) for the
// receivers; blocked literals are refused at acceptance, a blocked name (localhost, a name
// resolving to a private address, DNS rebinding between attempts) is dead-lettered "blocked"
// without a retry, a name is pinned to the address checked, and a 302 is never followed.
#include "workloads/output_manager/output_manager.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tests/unit/workloads/test_support.h"
#include "workloads/common/ssrf_guard.h"
#include "workloads/output_manager/delivery.h"
#include "workloads/output_manager/webhook.h"

namespace va::output_manager {
namespace {

using nlohmann::json;
using service::Error;
using service::Result;
using service::Secret;
using service::testing::eventually;

TEST(WebhookTest, SignsLikeHmacSha256OverTimestampDotBody) {
  // python3: hmac.new(b'whsec_test', b'1764201600.{"a":1}', hashlib.sha256).hexdigest()
  EXPECT_EQ(signWebhook(Secret("whsec_test"), "1764201600", R"({"a":1})"),
            "v1=bbced4c0ff53884650b4b78eaa000794406b03e60bed48f60f2c00abd58ac7c7");
}

TEST(WebhookTest, VerifiesSignatureAndTimestamp) {
  const Secret secret("s3cret");
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1764201600));
  const std::string body = R"({"reply":{"text":"hi"}})";
  const std::string sig = signWebhook(secret, "1764201600", body);
  const auto tolerance = std::chrono::minutes(5);
  EXPECT_TRUE(verifyWebhook(secret, "1764201600", body, sig, now, tolerance));
  EXPECT_FALSE(verifyWebhook(secret, "1764201600", body + " ", sig, now, tolerance));
  EXPECT_FALSE(verifyWebhook(Secret("other"), "1764201600", body, sig, now, tolerance));
  EXPECT_FALSE(verifyWebhook(secret, "1764201601", body, sig, now, tolerance));
  EXPECT_FALSE(
      verifyWebhook(secret, "1764201600", body, sig, now + std::chrono::minutes(6), tolerance));
  EXPECT_FALSE(verifyWebhook(secret, "17642016x0", body, sig, now, tolerance));
}

// A webhook receiver: answers each POST /hook with the next status of a script (then 200),
// and keeps what it received.
class Receiver {
 public:
  explicit Receiver(std::vector<int> statuses = {}) : statuses_(std::move(statuses)) {
    server_.set_keep_alive_max_count(1);
    server_.Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mutex_);
      received_.push_back({req.get_header_value("X-VA-Timestamp"),
                           req.get_header_value("X-VA-Signature"),
                           req.get_header_value("X-VA-Delivery-Id"), req.body});
      res.status = next_ < statuses_.size() ? statuses_[next_++] : 200;
      if (!location_.empty()) res.set_header("Location", location_);
      res.set_content("{}", "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~Receiver() {
    server_.stop();
    thread_.join();
  }
  [[nodiscard]] std::string url() const {
    return "http://127.0.0.1:" + std::to_string(port_) + "/hook";
  }
  [[nodiscard]] int port() const { return port_; }
  // Every answer carries this Location header from now on.
  void redirectTo(std::string location) {
    std::lock_guard lock(mutex_);
    location_ = std::move(location);
  }
  struct Received {
    std::string timestamp, signature, deliveryId, body;
  };
  std::vector<Received> received() {
    std::lock_guard lock(mutex_);
    return received_;
  }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::mutex mutex_;
  std::vector<int> statuses_;
  std::size_t next_ = 0;
  std::string location_;
  std::vector<Received> received_;
};

class MemoryDeadLetters : public DeadLetterStore {
 public:
  service::Status add(const DeadLetter& letter) override {
    std::lock_guard lock(mutex_);
    letters_.push_back(letter.toJson());
    return {};
  }
  [[nodiscard]] std::vector<json> recent(std::size_t limit) const override {
    std::lock_guard lock(mutex_);
    const std::size_t from = letters_.size() > limit ? letters_.size() - limit : 0;
    return {letters_.begin() + static_cast<std::ptrdiff_t>(from), letters_.end()};
  }
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return letters_.size();
  }

 private:
  mutable std::mutex mutex_;
  std::vector<json> letters_;
};

DeliveryOptions fastOptions() {
  DeliveryOptions options;
  options.secret = Secret("whsec_test");
  options.maxAttempts = 3;
  options.timeout = std::chrono::milliseconds(2000);
  options.backoffBase = std::chrono::milliseconds(10);
  options.backoffCap = std::chrono::milliseconds(50);
  options.workers = 2;
  options.allowedAddresses = {"127.0.0.1"};  // the receivers (WEBHOOK_ALLOW_ADDRESSES)
  return options;
}

// Answers from a script, one per lookup (the last one again when the script runs out).
class ScriptedResolver : public service::Resolver {
 public:
  explicit ScriptedResolver(std::vector<std::vector<std::string>> answers)
      : answers_(std::move(answers)) {}
  [[nodiscard]] Result<std::vector<std::string>> resolve(const std::string& host) const override {
    const std::lock_guard lock(mutex_);
    hosts_.push_back(host);
    const std::size_t index = std::min(lookups_++, answers_.size() - 1);
    if (answers_[index].empty()) return Error("Name or service not known");
    return answers_[index];
  }
  std::size_t lookups() const {
    const std::lock_guard lock(mutex_);
    return lookups_;
  }

 private:
  std::vector<std::vector<std::string>> answers_;
  mutable std::mutex mutex_;
  mutable std::size_t lookups_ = 0;
  mutable std::vector<std::string> hosts_;
};

// The value of a counter with the given label, 0 when there is none.
double counter(prometheus::Registry& registry, const std::string& name, const std::string& label,
               const std::string& value) {
  for (const auto& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const auto& metric : family.metric) {
      for (const auto& pair : metric.label) {
        if (pair.name == label && pair.value == value) return metric.counter.value;
      }
    }
  }
  return 0;
}

Delivery delivery(const std::string& url, const std::string& id = "d-1") {
  return {id, "c-1", url, R"({"reply":{"text":"Booked."}})"};
}

TEST(WebhookDelivererTest, DeliversASignedBodyOnce) {
  Receiver receiver;
  MemoryDeadLetters dead;
  prometheus::Registry registry;
  WebhookDeliverer deliverer(fastOptions(), dead, registry);
  ASSERT_TRUE(deliverer.enqueue(delivery(receiver.url())));
  ASSERT_TRUE(eventually([&] { return receiver.received().size() == 1; }));
  deliverer.stop(std::chrono::seconds(1));
  const auto got = receiver.received().at(0);
  EXPECT_EQ(got.body, R"({"reply":{"text":"Booked."}})");
  EXPECT_EQ(got.deliveryId, "d-1");
  EXPECT_TRUE(verifyWebhook(Secret("whsec_test"), got.timestamp, got.body, got.signature,
                            std::chrono::system_clock::now(), std::chrono::minutes(5)));
  EXPECT_EQ(dead.size(), 0U);
}

TEST(WebhookDelivererTest, RetriesServerErrorsThenDelivers) {
  Receiver receiver({500, 503});
  MemoryDeadLetters dead;
  prometheus::Registry registry;
  WebhookDeliverer deliverer(fastOptions(), dead, registry);
  ASSERT_TRUE(deliverer.enqueue(delivery(receiver.url())));
  ASSERT_TRUE(eventually([&] { return receiver.received().size() == 3; }));
  deliverer.stop(std::chrono::seconds(1));
  EXPECT_EQ(receiver.received().size(), 3U);
  EXPECT_EQ(dead.size(), 0U);
  // Each attempt is signed afresh; the delivery id stays the same (receivers deduplicate).
  for (const auto& got : receiver.received()) EXPECT_EQ(got.deliveryId, "d-1");
}

TEST(WebhookDelivererTest, AClientErrorIsDeadLetteredWithoutRetry) {
  Receiver receiver({400});
  MemoryDeadLetters dead;
  prometheus::Registry registry;
  WebhookDeliverer deliverer(fastOptions(), dead, registry);
  ASSERT_TRUE(deliverer.enqueue(delivery(receiver.url())));
  ASSERT_TRUE(eventually([&] { return dead.size() == 1; }));
  deliverer.stop(std::chrono::seconds(1));
  EXPECT_EQ(receiver.received().size(), 1U);
  const json letter = dead.recent(1).at(0);
  EXPECT_EQ(letter["attempts"], 1);
  EXPECT_NE(letter["reason"].get<std::string>().find("HTTP 400"), std::string::npos);
  EXPECT_EQ(letter["body"]["reply"]["text"], "Booked.");
}

TEST(WebhookDelivererTest, GivesUpAfterTheLastAttempt) {
  Receiver receiver({500, 500, 500, 500});
  MemoryDeadLetters dead;
  prometheus::Registry registry;
  WebhookDeliverer deliverer(fastOptions(), dead, registry);
  ASSERT_TRUE(deliverer.enqueue(delivery(receiver.url())));
  ASSERT_TRUE(eventually([&] { return dead.size() == 1; }));
  deliverer.stop(std::chrono::seconds(1));
  EXPECT_EQ(receiver.received().size(), 3U);
  EXPECT_EQ(dead.recent(1).at(0)["attempts"], 3);
}

TEST(WebhookDelivererTest, AnUnreachableReceiverIsDeadLettered) {
  MemoryDeadLetters dead;
  prometheus::Registry registry;
  WebhookDeliverer deliverer(fastOptions(), dead, registry);
  ASSERT_TRUE(deliverer.enqueue(delivery("http://127.0.0.1:9/hook")));
  ASSERT_TRUE(eventually([&] { return dead.size() == 1; }));
  deliverer.stop(std::chrono::seconds(1));
  EXPECT_NE(dead.recent(1).at(0)["reason"].get<std::string>().find("refused"), std::string::npos)
      << dead.recent(1).at(0).dump();
}

TEST(WebhookDelivererTest, LocalhostIsBlockedAndNotRetried) {
  // Blocked by name even with 127.0.0.1 opted in (it would resolve to ::1 too); the receiver
  // listens on the port, so a call that got through would show up there.
  Receiver receiver;
  MemoryDeadLetters dead;
  prometheus::Registry registry;
  WebhookDeliverer deliverer(fastOptions(), dead, registry);
  ASSERT_TRUE(
      deliverer.enqueue(delivery("http://localhost:" + std::to_string(receiver.port()) + "/hook")));
  ASSERT_TRUE(eventually([&] { return dead.size() == 1; }));
  deliverer.stop(std::chrono::seconds(1));
  EXPECT_TRUE(receiver.received().empty());
  const json letter = dead.recent(1).at(0);
  EXPECT_EQ(letter["reason"], "blocked: host \"localhost\" is a localhost name");
  EXPECT_EQ(letter["attempts"], 0);
  EXPECT_EQ(letter.dump().find("whsec_test"), std::string::npos) << letter.dump();
  const std::string attempts = "va_output_manager_webhook_attempts_total";
  EXPECT_EQ(counter(registry, attempts, "outcome", "blocked"), 1);
  EXPECT_EQ(counter(registry, attempts, "outcome", "failed"), 0);
  EXPECT_EQ(
      counter(registry, "va_output_manager_webhook_deliveries_total", "result", "dead_lettered"),
      1);
}

TEST(WebhookDelivererTest, ANamePinnedToTheCheckedAddressAndRecheckedOnEveryAttempt) {
  // "hooks.test" exists for this resolver only: first the opted-in 127.0.0.1 (the receiver
  // answers 500), then the metadata address. The first POST reaches the receiver, so curl
  // connected to the address checked; the retry is checked again and blocked.
  Receiver receiver({500});
  auto resolver = std::make_shared<ScriptedResolver>(
      std::vector<std::vector<std::string>>{{"127.0.0.1"}, {"169.254.169.254"}});
  MemoryDeadLetters dead;
  prometheus::Registry registry;
  DeliveryOptions options = fastOptions();
  options.resolver = resolver;
  WebhookDeliverer deliverer(options, dead, registry);
  ASSERT_TRUE(deliverer.enqueue(
      delivery("http://hooks.test:" + std::to_string(receiver.port()) + "/hook")));
  ASSERT_TRUE(eventually([&] { return dead.size() == 1; }));
  deliverer.stop(std::chrono::seconds(1));
  EXPECT_EQ(receiver.received().size(), 1U);
  EXPECT_EQ(resolver->lookups(), 2U);
  const json letter = dead.recent(1).at(0);
  EXPECT_EQ(letter["reason"],
            "blocked: host \"hooks.test\" resolves to 169.254.169.254, link-local "
            "(169.254.0.0/16)");
  EXPECT_EQ(letter["attempts"], 1);
}

TEST(WebhookDelivererTest, ARedirectIsNotFollowed) {
  Receiver target;
  Receiver receiver({302});
  receiver.redirectTo(target.url());
  MemoryDeadLetters dead;
  prometheus::Registry registry;
  WebhookDeliverer deliverer(fastOptions(), dead, registry);
  ASSERT_TRUE(deliverer.enqueue(delivery(receiver.url())));
  ASSERT_TRUE(eventually([&] { return dead.size() == 1; }));
  deliverer.stop(std::chrono::seconds(1));
  EXPECT_EQ(receiver.received().size(), 1U);  // not retried either
  EXPECT_TRUE(target.received().empty());
  const json letter = dead.recent(1).at(0);
  EXPECT_EQ(letter["attempts"], 1);
  EXPECT_EQ(letter["reason"],
            "HTTP 302 (a redirect to " + target.url() + ", not followed) (not retried)");
}

TEST(WebhookDelivererTest, TheQueueIsBoundedAndShutdownDeadLettersWhatIsLeft) {
  MemoryDeadLetters dead;
  prometheus::Registry registry;
  DeliveryOptions options = fastOptions();
  options.queueCapacity = 2;
  options.workers = 1;
  options.maxAttempts = 20;
  options.backoffBase = std::chrono::milliseconds(5000);
  options.backoffCap = std::chrono::milliseconds(5000);
  Receiver receiver({500, 500, 500, 500, 500, 500});
  WebhookDeliverer deliverer(options, dead, registry);
  ASSERT_TRUE(deliverer.enqueue(delivery(receiver.url(), "a")));
  // "a" is being retried (a 5 s wait); "b" and "c" fill the queue; "d" does not fit.
  ASSERT_TRUE(eventually([&] { return deliverer.queued() == 0; }));
  ASSERT_TRUE(deliverer.enqueue(delivery(receiver.url(), "b")));
  ASSERT_TRUE(deliverer.enqueue(delivery(receiver.url(), "c")));
  EXPECT_FALSE(deliverer.enqueue(delivery(receiver.url(), "d")));
  const auto start = std::chrono::steady_clock::now();
  deliverer.stop(std::chrono::milliseconds(200));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3))
      << "stop() waited out the retry backoff";
  ASSERT_EQ(dead.size(), 3U);  // a (while waiting to retry), b and c (never tried)
  for (const json& letter : dead.recent(3)) {
    EXPECT_NE(letter["reason"].get<std::string>().find("shutdown"), std::string::npos);
  }
}

TEST(FileDeadLetterStoreTest, AppendsDurableJsonLines) {
  char path[] = "/tmp/va-dead-letters-test.XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  FileDeadLetterStore store(path);
  for (int i = 0; i < 3; ++i) {
    DeadLetter letter{delivery("http://x/hook", "d-" + std::to_string(i)), 2, "HTTP 500",
                      std::chrono::system_clock::now()};
    ASSERT_TRUE(store.add(letter).ok());
  }
  const auto recent = store.recent(2);
  ASSERT_EQ(recent.size(), 2U);
  EXPECT_EQ(recent[0]["delivery_id"], "d-1");
  EXPECT_EQ(recent[1]["delivery_id"], "d-2");
  std::remove(path);
  EXPECT_FALSE(FileDeadLetterStore("/nonexistent/dir/x").add(DeadLetter{}).ok());
}

TEST(OutputManagerTest, RepliesAtOnceAndQueuesTheCallback) {
  Receiver receiver;
  MemoryDeadLetters dead;
  prometheus::Registry registry;
  WebhookDeliverer deliverer(fastOptions(), dead, registry);
  const OutputManager manager(&deliverer, dead, registry);
  const Reply plain = manager.reply(json{
      {"conversation_id", "c-1"},
      {"message_id", "m-1"},
      {"reply", {{"text", "Hello!"}}}}.dump());
  ASSERT_EQ(plain.status, 200) << plain.body.dump();
  EXPECT_EQ(plain.body["reply"]["text"], "Hello!");
  EXPECT_TRUE(plain.body["callback"].is_null());

  const Reply withCallback = manager.reply(json{
      {"conversation_id", "c-1"},
      {"reply", {{"text", "Booked."}}},
      {"callback_url", receiver.url()}}.dump());
  ASSERT_EQ(withCallback.status, 200) << withCallback.body.dump();
  EXPECT_EQ(withCallback.body["callback"]["status"], "queued");
  EXPECT_EQ(withCallback.body["message_id"].get<std::string>().size(), 32U);
  ASSERT_TRUE(eventually([&] { return receiver.received().size() == 1; }));
  const json sent = json::parse(receiver.received()[0].body);
  EXPECT_EQ(sent["conversation_id"], "c-1");
  EXPECT_EQ(sent["reply"]["text"], "Booked.");
  EXPECT_EQ(sent["delivery_id"], withCallback.body["callback"]["delivery_id"]);
  deliverer.stop(std::chrono::seconds(1));
}

TEST(OutputManagerTest, BadInputIs400NamingTheField) {
  MemoryDeadLetters dead;
  prometheus::Registry registry;
  const OutputManager withoutWebhooks(nullptr, dead, registry);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{", "JSON"},
      {"[]", "object"},
      {R"({"reply": {"text": "x"}})", "conversation_id"},
      {R"({"conversation_id": "c 1", "reply": {"text": "x"}})", "conversation_id"},
      {R"({"conversation_id": "c", "reply": "x"})", "reply"},
      {R"({"conversation_id": "c", "reply": {}})", "reply.text"},
      {R"({"conversation_id": "c", "reply": {"text": 1}})", "reply.text"},
      {R"({"conversation_id": "c", "message_id": 5, "reply": {"text": "x"}})", "message_id"},
      {R"({"conversation_id": "c", "reply": {"text": "x"}, "extra": 1})", "extra"},
      {R"({"conversation_id": "c", "reply": {"text": "x"}, "callback_url": "ftp://h/x"})",
       "callback_url"},
      {R"({"conversation_id": "c", "reply": {"text": "x"}, "callback_url": "http:///x"})",
       "callback_url"},
      {R"({"conversation_id": "c", "reply": {"text": "x"}, "callback_url": "http://h/a b"})",
       "callback_url"},
      // Valid URL, but this instance has no signing secret.
      {R"({"conversation_id": "c", "reply": {"text": "x"}, "callback_url": "http://h/x"})",
       "WEBHOOK_SIGNING_SECRET_FILE"},
  };
  for (const auto& [body, expected] : cases) {
    const Reply r = withoutWebhooks.reply(body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_NE(r.body["error"]["message"].get<std::string>().find(expected), std::string::npos)
        << body << " -> " << r.body.dump();
  }
  EXPECT_EQ(withoutWebhooks.deadLetters("0").status, 400);
  EXPECT_EQ(withoutWebhooks.deadLetters("abc").status, 400);
  EXPECT_EQ(withoutWebhooks.deadLetters(std::nullopt).status, 200);
}

TEST(OutputManagerTest, ABlockedCallbackUrlIs400AndNothingIsQueued) {
  MemoryDeadLetters dead;
  prometheus::Registry registry;
  auto resolver =
      std::make_shared<ScriptedResolver>(std::vector<std::vector<std::string>>{{"93.184.216.34"}});
  DeliveryOptions options = fastOptions();
  options.resolver = resolver;
  WebhookDeliverer deliverer(options, dead, registry);
  const OutputManager manager(&deliverer, dead, registry);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"http://169.254.169.254/x",
       "callback_url: address 169.254.169.254 is link-local (169.254.0.0/16)"},
      {"http://10.0.0.1/", "callback_url: address 10.0.0.1 is private (10.0.0.0/8)"},
      {"http://[::ffff:127.0.0.1]/", "callback_url: address ::ffff:127.0.0.1 is IPv4-mapped"},
      {"http://2130706433/", "callback_url: address 127.0.0.1 is loopback"},
      {"http://127.0.0.2/", "callback_url: address 127.0.0.2 is loopback"},
      {"http://localhost/", "callback_url: host \"localhost\" is a localhost name"},
      {"http://user@example.com/", "callback_url: bad URL: user info is not allowed"},
      {"ftp://x", "callback_url: bad URL: scheme \"ftp\" is not allowed"},
  };
  for (const auto& [url, expected] : cases) {
    const Reply r = manager.reply(
        json{{"conversation_id", "c"}, {"reply", {{"text", "x"}}}, {"callback_url", url}}.dump());
    EXPECT_EQ(r.status, 400) << url;
    EXPECT_EQ(r.body["error"]["code"], "invalid_field") << url;
    EXPECT_EQ(r.body["error"]["message"].get<std::string>().rfind(expected, 0), 0U)
        << url << " -> " << r.body.dump();
  }
  deliverer.stop(std::chrono::seconds(1));
  EXPECT_EQ(counter(registry, "va_output_manager_replies_total", "callback", "queued"), 0);
  EXPECT_EQ(dead.size(), 0U);          // a queued one would be dead-lettered as blocked
  EXPECT_EQ(resolver->lookups(), 0U);  // no DNS at acceptance
}

TEST(OutputManagerTest, ANameResolvingToAPrivateAddressIsDeadLetteredAsBlocked) {
  // Accepted (no DNS at acceptance), then refused by the delivery's full check.
  MemoryDeadLetters dead;
  prometheus::Registry registry;
  auto resolver = std::make_shared<ScriptedResolver>(
      std::vector<std::vector<std::string>>{{"93.184.216.34", "10.1.2.3"}});
  DeliveryOptions options = fastOptions();
  options.resolver = resolver;
  WebhookDeliverer deliverer(options, dead, registry);
  const OutputManager manager(&deliverer, dead, registry);
  const Reply r = manager.reply(json{{"conversation_id", "c"},
                                     {"reply", {{"text", "x"}}},
                                     {"callback_url", "https://hooks.example.net/x"}}
                                    .dump());
  ASSERT_EQ(r.status, 200) << r.body.dump();
  ASSERT_TRUE(eventually([&] { return dead.size() == 1; }));
  deliverer.stop(std::chrono::seconds(1));
  const json letter = dead.recent(1).at(0);
  EXPECT_EQ(letter["reason"],
            "blocked: host \"hooks.example.net\" resolves to 10.1.2.3, private (10.0.0.0/8)");
  EXPECT_EQ(letter["delivery_id"], r.body["callback"]["delivery_id"]);
  EXPECT_EQ(resolver->lookups(), 1U);  // blocked: not retried
  EXPECT_EQ(counter(registry, "va_output_manager_webhook_attempts_total", "outcome", "blocked"), 1);
}

TEST(OutputManagerTest, AFullQueueIs503WithRetryAfter) {
  MemoryDeadLetters dead;
  prometheus::Registry registry;
  DeliveryOptions options = fastOptions();
  options.queueCapacity = 1;
  options.workers = 1;
  options.backoffBase = std::chrono::milliseconds(5000);
  options.backoffCap = std::chrono::milliseconds(5000);
  options.maxAttempts = 5;
  Receiver receiver({500, 500, 500});
  WebhookDeliverer deliverer(options, dead, registry);
  const OutputManager manager(&deliverer, dead, registry);
  const std::string body =
      json{{"conversation_id", "c"}, {"reply", {{"text", "x"}}}, {"callback_url", receiver.url()}}
          .dump();
  ASSERT_EQ(manager.reply(body).status, 200);  // taken by the worker, which then waits 5 s
  ASSERT_TRUE(eventually([&] { return deliverer.queued() == 0; }));
  ASSERT_EQ(manager.reply(body).status, 200);  // fills the queue
  const Reply full = manager.reply(body);
  EXPECT_EQ(full.status, 503);
  EXPECT_EQ(full.retryAfterSeconds, 1);
  deliverer.stop(std::chrono::milliseconds(100));
}

}  // namespace
}  // namespace va::output_manager
