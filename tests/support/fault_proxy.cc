#include "tests/support/fault_proxy.h"

#include <httplib.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>
#include <utility>

namespace va::testing {
namespace {

[[noreturn]] void fatal(const std::string& what) {
  std::fprintf(stderr, "FaultProxy: %s\n", what.c_str());
  std::abort();
}

template <typename T, void (*Free)(T*)>
struct OpenSslDeleter {
  void operator()(T* p) const { Free(p); }
};
using X509Ptr = std::unique_ptr<X509, OpenSslDeleter<X509, X509_free>>;
using KeyPtr = std::unique_ptr<EVP_PKEY, OpenSslDeleter<EVP_PKEY, EVP_PKEY_free>>;
using BioPtr = std::unique_ptr<BIO, OpenSslDeleter<BIO, BIO_free_all>>;

BioPtr memBio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

bool isWatch(const httplib::Request& req) {
  const std::string w = req.get_param_value("watch");
  return w == "true" || w == "1";
}

// Chunks of one streamed response, handed from the upstream reader to the downstream writer.
struct Pipe {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::string> chunks;
  bool finished = false;
  bool cut = false;
  std::shared_ptr<httplib::SSLClient> upstream;

  void push(const char* data, size_t n) {
    std::lock_guard lock(mu);
    chunks.emplace_back(data, n);
    cv.notify_all();
  }
  void finish() {
    std::lock_guard lock(mu);
    finished = true;
    cv.notify_all();
  }
};

std::string injectedStatus(int code) {
  const char* reason = code == 429   ? "TooManyRequests"
                       : code >= 500 ? "InternalError"
                                     : "BadRequest";
  return nlohmann::json{{"kind", "Status"},
                        {"apiVersion", "v1"},
                        {"metadata", nlohmann::json::object()},
                        {"status", "Failure"},
                        {"message", "injected by the fault proxy"},
                        {"reason", reason},
                        {"code", code}}
      .dump();
}

}  // namespace

class FaultProxy::Impl {
 public:
  explicit Impl(Upstream upstream) : upstream_(std::move(upstream)) {
    BioPtr certBio = memBio(upstream_.clientCertPem);
    cert_.reset(PEM_read_bio_X509(certBio.get(), nullptr, nullptr, nullptr));
    BioPtr keyBio = memBio(upstream_.clientKeyPem);
    key_.reset(PEM_read_bio_PrivateKey(keyBio.get(), nullptr, nullptr, nullptr));
    if (!cert_ || !key_) fatal("cannot parse the upstream client certificate or key");

    server_.new_task_queue = [] { return new httplib::ThreadPool(64); };
    auto handler = [this](const httplib::Request& req, httplib::Response& res) {
      handle(req, res);
    };
    server_.Get(".*", handler);
    server_.Post(".*", handler);
    server_.Put(".*", handler);
    server_.Patch(".*", handler);
    server_.Delete(".*", handler);
    port_ = server_.bind_to_any_port("127.0.0.1");
    if (port_ <= 0) fatal("cannot bind a port on 127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }

  ~Impl() {
    cutWatches();
    server_.stop();
    thread_.join();
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return upstreamThreads_ == 0; });
  }

  int port() const { return port_; }

  void addFault(int count, int status, int retryAfter, std::chrono::milliseconds delay,
                const std::string& match) {
    std::lock_guard lock(mu_);
    faults_.push_back(Fault{count, status, retryAfter, delay, match});
  }

  void cutWatches() {
    std::set<std::shared_ptr<Pipe>> pipes;
    {
      std::lock_guard lock(mu_);
      pipes = watches_;
    }
    for (const auto& pipe : pipes) {
      {
        std::lock_guard lock(pipe->mu);
        pipe->cut = true;
        pipe->cv.notify_all();
      }
      if (pipe->upstream) pipe->upstream->stop();
    }
  }

  void setDown(bool down) {
    std::lock_guard lock(mu_);
    down_ = down;
  }

  std::vector<SeenRequest> seen() const {
    std::lock_guard lock(mu_);
    return seen_;
  }

  int openWatches() const {
    std::lock_guard lock(mu_);
    return static_cast<int>(watches_.size());
  }

 private:
  struct Fault {
    int remaining;
    int status;
    int retryAfterSeconds;
    std::chrono::milliseconds delay;
    std::string match;
  };

  std::shared_ptr<httplib::SSLClient> newUpstreamClient() {
    auto client = std::make_shared<httplib::SSLClient>(upstream_.host, upstream_.port, cert_.get(),
                                                       key_.get());
    // The SSL context takes ownership of the store, so every client gets its own.
    X509_STORE* store = X509_STORE_new();
    BioPtr caBio = memBio(upstream_.caPem);
    while (X509* ca = PEM_read_bio_X509(caBio.get(), nullptr, nullptr, nullptr)) {
      X509_STORE_add_cert(store, ca);
      X509_free(ca);
    }
    client->set_ca_cert_store(store);
    client->enable_server_certificate_verification(true);
    client->set_connection_timeout(5, 0);
    client->set_read_timeout(3600, 0);
    return client;
  }

  static httplib::Request upstreamRequest(const httplib::Request& req) {
    httplib::Request up;
    up.method = req.method;
    up.path = req.target;
    for (const auto& [name, value] : req.headers) {
      if (name == "Host" || name == "Connection" || name == "Content-Length" ||
          name == "Accept-Encoding" || name == "REMOTE_ADDR" || name == "REMOTE_PORT" ||
          name == "LOCAL_ADDR" || name == "LOCAL_PORT") {
        continue;
      }
      up.headers.emplace(name, value);
    }
    up.body = req.body;
    return up;
  }

  static void copyHeaders(const httplib::Headers& from, httplib::Response& res) {
    for (const auto& [name, value] : from) {
      if (name == "Content-Length" || name == "Transfer-Encoding" || name == "Connection" ||
          name == "Content-Type") {
        continue;
      }
      res.set_header(name, value);
    }
  }

  // Applies the first matching fault; returns true when the request was answered here.
  bool applyFault(const httplib::Request& req, httplib::Response& res, SeenRequest& seen) {
    std::chrono::milliseconds delay{0};
    {
      std::lock_guard lock(mu_);
      if (down_) {
        res.status = 503;
        res.set_content(injectedStatus(503), "application/json");
        seen.injected = true;
        return true;
      }
      for (auto it = faults_.begin(); it != faults_.end(); ++it) {
        if (it->remaining <= 0 || req.target.find(it->match) == std::string::npos) continue;
        Fault fault = *it;
        if (--it->remaining == 0) faults_.erase(it);
        if (fault.status == 0) {
          delay = fault.delay;
          break;
        }
        res.status = fault.status;
        if (fault.retryAfterSeconds > 0) {
          res.set_header("Retry-After", std::to_string(fault.retryAfterSeconds));
        }
        res.set_content(injectedStatus(fault.status), "application/json");
        seen.injected = true;
        return true;
      }
    }
    if (delay.count() > 0) std::this_thread::sleep_for(delay);
    return false;
  }

  void handle(const httplib::Request& req, httplib::Response& res) {
    SeenRequest seen{std::chrono::steady_clock::now(), req.method, req.target, 0, false};
    if (!applyFault(req, res, seen)) {
      if (isWatch(req)) {
        stream(req, res);
      } else {
        forward(req, res);
      }
    }
    seen.status = res.status;
    std::lock_guard lock(mu_);
    seen_.push_back(std::move(seen));
  }

  void forward(const httplib::Request& req, httplib::Response& res) {
    auto client = newUpstreamClient();
    httplib::Request up = upstreamRequest(req);
    httplib::Response upRes;
    httplib::Error error = httplib::Error::Success;
    if (!client->send(up, upRes, error)) {
      res.status = 502;
      res.set_content(injectedStatus(502), "application/json");
      return;
    }
    res.status = upRes.status;
    copyHeaders(upRes.headers, res);
    res.set_content(upRes.body, upRes.get_header_value("Content-Type"));
  }

  void stream(const httplib::Request& req, httplib::Response& res) {
    auto pipe = std::make_shared<Pipe>();
    pipe->upstream = newUpstreamClient();
    auto head = std::make_shared<std::promise<httplib::Response>>();
    auto headFuture = head->get_future();
    {
      std::lock_guard lock(mu_);
      watches_.insert(pipe);
      ++upstreamThreads_;
    }
    std::thread([this, pipe, head, up = upstreamRequest(req)]() mutable {
      bool headSent = false;
      up.response_handler = [&](const httplib::Response& r) {
        head->set_value(r);
        headSent = true;
        return true;
      };
      up.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
        pipe->push(data, n);
        std::lock_guard lock(pipe->mu);
        return !pipe->cut;
      };
      httplib::Response upRes;
      httplib::Error error = httplib::Error::Success;
      pipe->upstream->send(up, upRes, error);
      if (!headSent) {
        httplib::Response failed;
        failed.status = 502;
        head->set_value(failed);
      }
      pipe->finish();
      std::lock_guard lock(mu_);
      --upstreamThreads_;
      cv_.notify_all();
    }).detach();

    httplib::Response upHead = headFuture.get();
    res.status = upHead.status;
    copyHeaders(upHead.headers, res);
    res.set_chunked_content_provider(
        upHead.get_header_value("Content-Type", 0).empty()
            ? "application/json"
            : upHead.get_header_value("Content-Type"),
        [pipe](size_t, httplib::DataSink& sink) {
          std::unique_lock lock(pipe->mu);
          pipe->cv.wait(lock, [&] { return pipe->cut || pipe->finished || !pipe->chunks.empty(); });
          if (pipe->cut) return false;  // drop the connection mid-stream
          while (!pipe->chunks.empty()) {
            std::string chunk = std::move(pipe->chunks.front());
            pipe->chunks.pop_front();
            lock.unlock();
            if (!sink.write(chunk.data(), chunk.size())) {
              lock.lock();
              pipe->cut = true;
              return false;
            }
            lock.lock();
          }
          if (pipe->finished) sink.done();
          return true;
        },
        [this, pipe](bool) {
          {
            std::lock_guard lock(pipe->mu);
            pipe->cut = true;
          }
          pipe->upstream->stop();
          std::lock_guard lock(mu_);
          watches_.erase(pipe);
        });
  }

  const Upstream upstream_;
  X509Ptr cert_;
  KeyPtr key_;
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Fault> faults_;
  std::vector<SeenRequest> seen_;
  std::set<std::shared_ptr<Pipe>> watches_;
  int upstreamThreads_ = 0;
  bool down_ = false;
};

FaultProxy::FaultProxy(Upstream upstream) : impl_(std::make_unique<Impl>(std::move(upstream))) {}
FaultProxy::~FaultProxy() = default;

int FaultProxy::port() const { return impl_->port(); }
std::string FaultProxy::url() const { return "http://127.0.0.1:" + std::to_string(port()); }

void FaultProxy::failNext(int count, int status, int retryAfterSeconds, const std::string& match) {
  impl_->addFault(count, status, retryAfterSeconds, std::chrono::milliseconds(0), match);
}
void FaultProxy::delayNext(int count, std::chrono::milliseconds delay, const std::string& match) {
  impl_->addFault(count, 0, 0, delay, match);
}
void FaultProxy::cutWatches() { impl_->cutWatches(); }
void FaultProxy::setDown(bool down) { impl_->setDown(down); }
std::vector<SeenRequest> FaultProxy::seen() const { return impl_->seen(); }
int FaultProxy::openWatches() const { return impl_->openWatches(); }

}  // namespace va::testing
