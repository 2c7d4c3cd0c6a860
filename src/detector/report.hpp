#pragma once
// Reports for people: plain text with one explanation per finding, and a self-contained HTML page
// with a sequence diagram per finding (client, tunnel, VPN server, resolver) in the style of the
// paper's Figures 1 and 2, drawn from the observed packets. Control plane (allocates).

#include <string>

#include "detector/model.hpp"

namespace dnsfence::detector {

/// The text report: the overall verdict, then each finding with its explanation and evidence.
std::string report_text(const Report& r, const Facts& f);

/// Only what changed between two reports (for --watch): findings added or gone, overall change.
/// Empty when nothing changed.
std::string report_diff(const Report& before, const Report& after);

/// A complete HTML document with inline CSS and SVG: no script, no external resource.
std::string report_html(const Report& r, const Facts& f);

}  // namespace dnsfence::detector
