#include "dns/name.hpp"

#include <algorithm>
#include <cctype>

namespace dnsfence::dns {
namespace {

constexpr std::uint8_t kPointerBits = 0xc0;

std::uint8_t lower(std::uint8_t c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<std::uint8_t>(c + 32) : c;
}

bool label_equal(Bytes a, Bytes b) noexcept {
  return std::ranges::equal(a, b, [](std::uint8_t x, std::uint8_t y) { return lower(x) == lower(y); });
}

// Walks the labels of a name already validated by read_name (or an uncompressed owned name).
// It stays bounds-safe even on bytes it was not meant for: anything odd ends the walk.
class LabelWalker {
 public:
  LabelWalker(Bytes packet, std::size_t offset) noexcept : packet_(packet), pos_(offset) {}

  /// The next label's octets; empty at the root (or on anything unexpected).
  Bytes next() noexcept {
    for (std::size_t hops = 0; pos_ < packet_.size() && hops < packet_.size(); ++hops) {
      std::uint8_t len = packet_[pos_];
      if ((len & kPointerBits) == kPointerBits) {
        if (pos_ + 1 >= packet_.size()) break;
        pos_ = static_cast<std::size_t>(((len & 0x3f) << 8) | packet_[pos_ + 1]);
        continue;
      }
      if (len == 0 || len > kMaxLabelLength || pos_ + 1 + len > packet_.size()) break;
      Bytes label = packet_.subspan(pos_ + 1, len);
      pos_ += 1 + len;
      return label;
    }
    pos_ = packet_.size();
    return {};
  }

 private:
  Bytes packet_;
  std::size_t pos_;
};

void append_label_text(std::string& out, Bytes label) {
  for (std::uint8_t c : label) {
    if (c == '.' || c == '\\' || c == '"' || c == '(' || c == ')' || c == ';' || c == '@' || c == '$') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c > 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char buf[5];
      buf[0] = '\\';
      buf[1] = static_cast<char>('0' + c / 100);
      buf[2] = static_cast<char>('0' + (c / 10) % 10);
      buf[3] = static_cast<char>('0' + c % 10);
      buf[4] = '\0';
      out += buf;
    }
  }
  out += '.';
}

// A final '.' stands for the root unless a backslash escapes it. Backslashes escape each other in
// pairs, so only an odd run escapes the dot: "a\\." is the label "a\" and then the root.
bool ends_with_root_dot(std::string_view text) noexcept {
  if (text.size() < 2 || text.back() != '.') return false;
  std::size_t backslashes = 0;
  for (std::size_t i = text.size() - 1; i > 0 && text[i - 1] == '\\'; --i) ++backslashes;
  return backslashes % 2 == 0;
}

std::string walk_to_text(Bytes wire, std::size_t offset) {
  std::string out;
  LabelWalker walk(wire, offset);
  for (Bytes label = walk.next(); !label.empty(); label = walk.next()) append_label_text(out, label);
  return out.empty() ? "." : out;
}

}  // namespace

std::expected<NameRef, ParseError> read_name(Reader& r) noexcept {
  const Bytes packet = r.data();
  const std::size_t start = r.position();
  std::size_t pos = start;
  std::size_t segment = start;      // where the run of labels now being read began
  std::size_t end_of_encoding = 0;  // where the reader resumes: after the first pointer or the root
  std::size_t length = 1;           // decompressed octets, root included
  std::size_t labels = 0;
  auto fail = [&r](ParseError e) -> std::unexpected<ParseError> {
    r.fail();
    return std::unexpected(e);
  };
  for (;;) {
    if (pos >= packet.size()) return fail(ParseError::Truncated);
    const std::uint8_t len = packet[pos];
    if ((len & kPointerBits) == kPointerBits) {
      if (pos + 1 >= packet.size()) return fail(ParseError::Truncated);
      const std::size_t target = static_cast<std::size_t>(((len & 0x3f) << 8) | packet[pos + 1]);
      // Strictly before the run of labels that holds the pointer, so every jump goes further back
      // and loops are impossible. Real compressors only point at names written earlier.
      if (target >= segment || target < kHeaderSize) return fail(ParseError::BadPointer);
      if (end_of_encoding == 0) end_of_encoding = pos + 2;
      pos = segment = target;
      continue;
    }
    if ((len & kPointerBits) != 0) return fail(ParseError::BadLabelType);
    if (len == 0) {
      if (end_of_encoding == 0) end_of_encoding = pos + 1;
      break;
    }
    if (pos + 1 + len > packet.size()) return fail(ParseError::Truncated);
    length += 1 + len;
    if (length > kMaxNameLength) return fail(ParseError::NameTooLong);
    if (++labels > kMaxLabels) return fail(ParseError::TooManyLabels);
    pos += 1 + len;
  }
  r.seek(end_of_encoding);
  return NameRef{static_cast<std::uint16_t>(start), static_cast<std::uint8_t>(length),
                 static_cast<std::uint8_t>(labels)};
}

std::expected<Name, std::string_view> Name::from_text(std::string_view text) noexcept {
  Name n;
  if (text == ".") return n;
  if (text.empty()) return std::unexpected("empty name");
  if (ends_with_root_dot(text)) text.remove_suffix(1);
  std::size_t out = 0;
  std::size_t label_start = 0;
  std::size_t label_len = 0;
  auto put = [&](std::uint8_t c) {
    if (out + 1 >= kMaxNameLength) return false;
    n.wire_[++out] = c;
    ++label_len;
    return true;
  };
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == '.') {
      if (label_len == 0) return std::unexpected("empty label");
      if (label_len > kMaxLabelLength) return std::unexpected("label longer than 63 octets");
      n.wire_[label_start] = static_cast<std::uint8_t>(label_len);
      if (++n.labels_ > kMaxLabels) return std::unexpected("more than 127 labels");
      label_start = ++out;
      label_len = 0;
      if (i < text.size() && out >= kMaxNameLength) return std::unexpected("name longer than 255 octets");
      continue;
    }
    std::uint8_t c = static_cast<std::uint8_t>(text[i]);
    if (c == '\\') {
      if (i + 1 >= text.size()) return std::unexpected("dangling escape");
      if (i + 3 < text.size() + 0 && std::isdigit(static_cast<unsigned char>(text[i + 1])) != 0) {
        int v = 0;
        for (std::size_t k = 1; k <= 3; ++k) {
          if (std::isdigit(static_cast<unsigned char>(text[i + k])) == 0) return std::unexpected("bad \\DDD escape");
          v = v * 10 + (text[i + k] - '0');
        }
        if (v > 255) return std::unexpected("bad \\DDD escape");
        c = static_cast<std::uint8_t>(v);
        i += 3;
      } else {
        c = static_cast<std::uint8_t>(text[++i]);
      }
    }
    if (!put(c)) return std::unexpected("name longer than 255 octets");
  }
  if (out >= kMaxNameLength) return std::unexpected("name longer than 255 octets");
  n.wire_[out] = 0;
  n.length_ = static_cast<std::uint8_t>(out + 1);
  return n;
}

Name Name::from_packet(Bytes packet, NameRef ref) noexcept {
  Name n;
  std::size_t out = 0;
  LabelWalker walk(packet, ref.offset);
  for (Bytes label = walk.next(); !label.empty(); label = walk.next()) {
    if (out + 1 + label.size() >= kMaxNameLength) break;  // unreachable for a validated ref
    n.wire_[out] = static_cast<std::uint8_t>(label.size());
    std::ranges::copy(label, n.wire_.begin() + static_cast<std::ptrdiff_t>(out + 1));
    out += 1 + label.size();
    ++n.labels_;
  }
  n.wire_[out] = 0;
  n.length_ = static_cast<std::uint8_t>(out + 1);
  return n;
}

std::string Name::to_text() const {
  return walk_to_text(wire(), 0);
}

bool operator==(const Name& a, const Name& b) noexcept {
  return a.length_ == b.length_ && label_equal(a.wire(), b.wire());
}

bool equals(Bytes packet, NameRef name, const Name& other) noexcept {
  if (name.labels != other.labels() || name.length != other.wire().size()) return false;
  LabelWalker a(packet, name.offset);
  LabelWalker b(other.wire(), 0);
  for (Bytes la = a.next(), lb = b.next();; la = a.next(), lb = b.next()) {
    if (!label_equal(la, lb)) return false;
    if (la.empty()) return true;
  }
}

bool equals(Bytes packet_a, NameRef a, Bytes packet_b, NameRef b) noexcept {
  if (a.labels != b.labels || a.length != b.length) return false;
  LabelWalker wa(packet_a, a.offset);
  LabelWalker wb(packet_b, b.offset);
  for (Bytes la = wa.next(), lb = wb.next();; la = wa.next(), lb = wb.next()) {
    if (!label_equal(la, lb)) return false;
    if (la.empty()) return true;
  }
}

bool is_subdomain(Bytes packet, NameRef name, const Name& suffix) noexcept {
  if (name.labels < suffix.labels()) return false;
  LabelWalker a(packet, name.offset);
  for (std::size_t skip = name.labels - suffix.labels(); skip > 0; --skip) a.next();
  LabelWalker b(suffix.wire(), 0);
  for (Bytes la = a.next(), lb = b.next();; la = a.next(), lb = b.next()) {
    if (!label_equal(la, lb)) return false;
    if (la.empty()) return true;
  }
}

std::string to_text(Bytes packet, NameRef name) {
  return walk_to_text(packet, name.offset);
}

}  // namespace dnsfence::dns
