#include "common/metrics.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace dnsfence::common {
namespace {

TEST(Metrics, ExposesCountersAndGaugesWithLabels) {
  Registry r;
  r.counter("dnsfence_queries_total", "Queries by outcome", {{"outcome", "answer"}}).inc(3);
  r.counter("dnsfence_queries_total", "Queries by outcome", {{"outcome", "nxdomain"}}).inc();
  r.gauge("dnsfence_runs", "Live runs").set(7);
  EXPECT_EQ(r.expose(),
            "# HELP dnsfence_queries_total Queries by outcome\n"
            "# TYPE dnsfence_queries_total counter\n"
            "dnsfence_queries_total{outcome=\"answer\"} 3\n"
            "dnsfence_queries_total{outcome=\"nxdomain\"} 1\n"
            "# HELP dnsfence_runs Live runs\n"
            "# TYPE dnsfence_runs gauge\n"
            "dnsfence_runs 7\n");
}

TEST(Metrics, SameSeriesIsTheSameObject) {
  Registry r;
  Counter& a = r.counter("x_total", "x", {{"k", "v"}});
  Counter& b = r.counter("x_total", "x", {{"k", "v"}});
  EXPECT_EQ(&a, &b);
}

TEST(Metrics, EscapesLabelValuesAndRejectsBadNames) {
  Registry r;
  r.counter("y_total", "y", {{"k", "a\"b\\c\nd"}}).inc();
  EXPECT_NE(r.expose().find("y_total{k=\"a\\\"b\\\\c\\nd\"} 1"), std::string::npos);
  EXPECT_THROW(r.counter("1bad", "h"), std::invalid_argument);
  EXPECT_THROW(r.counter("ok_total", "h", {{"bad-label", "v"}}), std::invalid_argument);
  EXPECT_THROW(r.gauge("y_total", "y"), std::invalid_argument);
}

}  // namespace
}  // namespace dnsfence::common
