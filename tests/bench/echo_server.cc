// The baseline for hack/bench/workloads.sh: the least a cpp-httplib server can do per request
// (POST /echo returns the body), on the same machine and in the same run as the VA's pipeline.
//   va-bench-echo PORT
#include <httplib.h>

#include <cstdio>
#include <string>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fputs("usage: va-bench-echo PORT\n", stderr);
    return 2;
  }
  httplib::Server server;
  // One thread per connection, as many as the benchmark opens (httplib's default is 8), and
  // connections kept alive as the VA's servers keep them.
  server.new_task_queue = [] { return new httplib::ThreadPool(80); };
  server.set_keep_alive_max_count(100);
  server.set_tcp_nodelay(true);  // as the VA's servers (else Nagle delays each reply ~40 ms)
  server.Post("/echo", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content(req.body, "application/json");
  });
  server.Get("/readyz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok", "text/plain");
  });
  return server.listen("127.0.0.1", std::stoi(argv[1])) ? 0 : 1;
}
