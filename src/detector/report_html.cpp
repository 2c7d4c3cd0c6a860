#include <algorithm>
#include <sstream>

#include "detector/report.hpp"

namespace dnsfence::detector {
namespace {

constexpr int kLaneGap = 170;
constexpr int kRowGap = 42;
constexpr int kTop = 60;
// The lifelines of the paper's Figures 1 and 2.
enum Lane : int { ClientLane = 0, LanLane = 1, TunnelLane = 2, VpnLane = 3, ResolverLane = 4, Lanes = 5 };

std::string esc(std::string_view in) {
  std::string out;
  for (char c : in) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

int x_of(int lane) {
  return 90 + lane * kLaneGap;
}

void lifelines(std::ostringstream& s, const Finding& f, const Facts& facts, int height) {
  const std::string tunnel = facts.inventory.tunnel ? facts.inventory.tunnel->ifname : "?";
  std::string lan = "local network";
  for (const auto& o : f.evidence) {
    if (facts.inventory.tunnel && o.ifname != tunnel && !o.ifname.empty()) lan = "local network (" + o.ifname + ")";
  }
  const std::string names[Lanes] = {"Client", lan, "Tunnel (" + tunnel + ")", "VPN server",
                                    "Resolver " + (f.resolver ? f.resolver->to_string() : std::string("?"))};
  for (int i = 0; i < Lanes; ++i) {
    s << "<rect x='" << x_of(i) - 75 << "' y='10' width='150' height='30' rx='4' class='box'/>"
      << "<text x='" << x_of(i) << "' y='30' text-anchor='middle'>" << esc(names[i]) << "</text>"
      << "<line x1='" << x_of(i) << "' y1='40' x2='" << x_of(i) << "' y2='" << height - 10 << "' class='life'/>";
  }
}

void arrow(std::ostringstream& s, int from, int to, int y, const std::string& cls, const std::string& label) {
  s << "<line x1='" << x_of(from) << "' y1='" << y << "' x2='" << x_of(to) << "' y2='" << y << "' class='" << cls
    << "' marker-end='url(#head)'/>"
    << "<text x='" << (x_of(from) + x_of(to)) / 2 << "' y='" << y - 6 << "' text-anchor='middle' class='label'>"
    << esc(label) << "</text>";
}

// One packet: inside the tunnel it runs client -> tunnel -> VPN server -> resolver (Figure 2);
// outside it runs client -> local network -> resolver (Figure 1). Responses run back.
void packet(std::ostringstream& s, const Observation& o, bool inside, int y) {
  std::ostringstream label;
  label.setf(std::ios::fixed);
  label.precision(3);
  label << o.time << "s " << (o.is_response ? "answer " : "query ") << o.qname << " (" << wire_name(o.wire) << ")";
  for (const auto& a : o.answers) label << " " << a;
  const std::string cls = inside ? "in" : "out";
  if (!o.is_response) {
    arrow(s, ClientLane, inside ? VpnLane : LanLane, y, cls, label.str());
    arrow(s, inside ? VpnLane : LanLane, ResolverLane, y, cls, "");
  } else {
    arrow(s, ResolverLane, inside ? VpnLane : LanLane, y, cls + " resp", label.str());
    arrow(s, inside ? VpnLane : LanLane, ClientLane, y, cls + " resp", "");
  }
}

void diagram(std::ostringstream& s, const Finding& f, const Facts& facts) {
  const bool answered = std::ranges::any_of(f.evidence, [](const Observation& o) { return o.is_response; });
  const int rows = static_cast<int>(f.evidence.size()) + (answered ? 0 : 1);
  const int height = kTop + rows * kRowGap + 20;
  s << "<svg xmlns='http://www.w3.org/2000/svg' width='" << x_of(Lanes) << "' height='" << height << "'>"
    << "<defs><marker id='head' markerWidth='10' markerHeight='7' refX='10' refY='3.5' orient='auto'>"
    << "<polygon points='0 0, 10 3.5, 0 7'/></marker></defs>";
  lifelines(s, f, facts, height);
  int y = kTop + 20;
  for (const auto& o : f.evidence) {
    const bool inside = facts.inventory.tunnel && o.ifname == facts.inventory.tunnel->ifname;
    packet(s, o, inside, y);
    y += kRowGap;
  }
  if (!answered && !f.evidence.empty()) {
    s << "<text x='" << x_of(ResolverLane) << "' y='" << y << "' text-anchor='middle' class='none'>"
      << "no answer: logged, never answered</text>";
  }
  s << "</svg>";
}

constexpr const char* kStyle =
    "body{font-family:sans-serif;max-width:960px;margin:2em auto;color:#222}"
    ".v{font-weight:bold;padding:2px 6px;border-radius:3px;color:#fff;background:#555}"
    ".OK,.INTERCEPTED{background:#2a7d2a}.INCONCLUSIVE,.UNPROTECTED{background:#b08000}"
    ".LEAK-TYPE1,.LEAK-TYPE2,.STEALTH,.TAMPERED{background:#b02020}"
    "svg text{font-size:11px}.box{fill:#eef;stroke:#334}.life{stroke:#999;stroke-dasharray:4 3}"
    "line.in{stroke:#2a7d2a;stroke-width:2.5}line.out{stroke:#b02020;stroke-width:2}"
    "line.resp{stroke-dasharray:6 3}.none{fill:#b02020;font-weight:bold}.label{fill:#333}"
    "pre{background:#f6f6f6;padding:.5em;overflow-x:auto}";

}  // namespace

std::string report_html(const Report& r, const Facts& f) {
  std::ostringstream s;
  s << "<!DOCTYPE html><html><head><meta charset='utf-8'><title>dnsfence leaktest</title><style>" << kStyle
    << "</style></head><body><h1>dnsfence leaktest: <span class='v " << verdict_name(r.overall) << "'>"
    << verdict_name(r.overall) << "</span></h1>"
    << "<p>Green arrows travel inside the VPN tunnel, red ones outside it; dashed arrows are answers.</p>";
  for (const auto& fi : r.findings) {
    s << "<h2><span class='v " << verdict_name(fi.verdict) << "'>" << verdict_name(fi.verdict) << "</span> "
      << esc(fi.resolver ? fi.resolver->to_string() : "whole run") << "</h2><p>" << esc(fi.explanation) << "</p>";
    if (!fi.evidence.empty()) diagram(s, fi, f);
    if (!fi.facts.empty()) {
      s << "<pre>";
      for (const auto& x : fi.facts) s << esc(x) << "\n";
      s << "</pre>";
    }
  }
  s << "<h2>Notes</h2><pre>";
  for (const auto& n : f.inventory.notes) s << esc(n) << "\n";
  for (const auto& n : r.notes) s << esc(n) << "\n";
  s << "</pre></body></html>\n";
  return s.str();
}

}  // namespace dnsfence::detector
