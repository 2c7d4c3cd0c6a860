#pragma once
// Facts and reports as JSON: `leaktest --json` prints a report, `--record FILE` saves the facts a
// run gathered, and the classifier's fixtures under tests/data/detector/ are such recordings.
// Control plane: throws on malformed input.

#include <nlohmann/json.hpp>

#include "detector/model.hpp"

namespace dnsfence::detector {

/// Reads facts; absent keys take their defaults. Throws std::runtime_error (or nlohmann's
/// exceptions) on wrong types or unparsable addresses.
Facts facts_from_json(const nlohmann::json& j);
/// Writes facts in the form facts_from_json reads.
nlohmann::json facts_to_json(const Facts& f);
/// One observation as JSON (shared with the report).
nlohmann::json observation_to_json(const Observation& o);
/// What a reporting VPN server told the witness of one destination (facts and the report).
nlohmann::json witness_report_json(const WitnessReport& r);
/// The report: {"overall": "...", "exit_code": n, "findings": [...], "notes": [...]}.
nlohmann::json report_to_json(const Report& r);
/// What changed between two reports, for `--watch --json`: {"previous_overall", "overall",
/// "exit_code", "added": [findings], "removed": [findings]}; a finding is the same when its
/// verdict, resolver and explanation are.
nlohmann::json report_diff_json(const Report& before, const Report& after);

}  // namespace dnsfence::detector
