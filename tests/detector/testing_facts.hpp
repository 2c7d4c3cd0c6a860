#pragma once
// Loads the recorded facts under tests/data/detector/.

#include <fstream>
#include <string>

#include "detector/facts_json.hpp"

namespace dnsfence::detector::testing {

inline Facts load_facts(const std::string& name) {
  std::ifstream in(std::string(DNSFENCE_TEST_DATA) + "/detector/" + name);
  return facts_from_json(nlohmann::json::parse(in));
}

inline std::string read_text(const std::string& name) {
  std::ifstream in(std::string(DNSFENCE_TEST_DATA) + "/detector/" + name);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace dnsfence::detector::testing
