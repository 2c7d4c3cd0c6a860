#include "proxy/metrics_http.hpp"

#include <httplib.h>

#include <stdexcept>

namespace dnsfence::proxy {

MetricsHttp::MetricsHttp(const std::string& address, std::function<std::string()> render)
    : server_(std::make_unique<httplib::Server>()) {
  auto a = common::SocketAddress::parse(address, 9153);
  if (!a) throw std::runtime_error("metrics address: " + a.error());
  server_->Get("/metrics", [render = std::move(render)](const httplib::Request&, httplib::Response& res) {
    res.set_content(render(), "text/plain; version=0.0.4");
  });
  server_->new_task_queue = [] { return new httplib::ThreadPool(1); };
  if (!server_->bind_to_port(a->ip().to_string(), a->port()))
    throw std::runtime_error("metrics: cannot bind " + a->to_string());
}

MetricsHttp::~MetricsHttp() {
  stop();
}

void MetricsHttp::start() {
  thread_ = std::thread([this] { server_->listen_after_bind(); });
}

void MetricsHttp::stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace dnsfence::proxy
