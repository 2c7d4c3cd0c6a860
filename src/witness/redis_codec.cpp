#include "witness/redis_codec.hpp"

#include <algorithm>
#include <charconv>
#include <map>

#include "common/hex.hpp"

namespace dnsfence::witness {

// Numbers are written with string.format('%.0f'): Redis would render a Lua number as "1.8e+12".
const std::string_view kRecordScript = R"lua(
local exp = redis.call('HGET', KEYS[1], 'expires')
if not exp then return -1 end
local cap = tonumber(ARGV[1])
local n = tonumber(redis.call('HGET', KEYS[1], 'resolvers') or '0')
local dropped = 0
local function ntypes(q)
  if q == '' then return 0 end
  local _, commas = string.gsub(q, ',', ',')
  return commas + 1
end
for i = 2, #ARGV, 7 do
  local a = ARGV[i]
  local old = redis.call('HMGET', KEYS[2], a .. '|c', a .. '|f', a .. '|l', a .. '|t', a .. '|q', a .. '|p')
  if not old[1] then
    if n >= cap then
      dropped = dropped + tonumber(ARGV[i + 3])
    else
      n = n + 1
      redis.call('HSET', KEYS[2], a .. '|c', ARGV[i + 3], a .. '|f', ARGV[i + 1], a .. '|l', ARGV[i + 2],
                 a .. '|t', ARGV[i + 4], a .. '|q', ARGV[i + 5], a .. '|p', ARGV[i + 6])
    end
  else
    local f = math.min(tonumber(old[2]), tonumber(ARGV[i + 1]))
    local l = math.max(tonumber(old[3]), tonumber(ARGV[i + 2]))
    local t = bit.bor(tonumber(old[4]), tonumber(ARGV[i + 4]))
    local q = old[5] or ''
    for ty in string.gmatch(ARGV[i + 5], '[^,]+') do
      local present = false
      for have in string.gmatch(q, '[^,]+') do
        if have == ty then present = true end
      end
      if not present and ntypes(q) < 16 then
        if q == '' then q = ty else q = q .. ',' .. ty end
      end
    end
    local p, np = old[6] or '', ARGV[i + 6]
    local bytes = {}
    for j = 1, math.max(#p, #np) do
      bytes[j] = string.char(bit.bor(string.byte(p, j) or 0, string.byte(np, j) or 0))
    end
    redis.call('HINCRBY', KEYS[2], a .. '|c', ARGV[i + 3])
    redis.call('HSET', KEYS[2], a .. '|f', string.format('%.0f', f), a .. '|l', string.format('%.0f', l),
               a .. '|t', string.format('%.0f', t), a .. '|q', q, a .. '|p', table.concat(bytes))
  end
end
redis.call('HSET', KEYS[1], 'resolvers', string.format('%.0f', n))
if dropped > 0 then redis.call('HINCRBY', KEYS[1], 'dropped', string.format('%.0f', dropped)) end
redis.call('PEXPIREAT', KEYS[2], exp)
return dropped
)lua";

const std::string_view kLostScript = R"lua(
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HINCRBY', KEYS[1], 'lost', ARGV[1]) end
return 0
)lua";

namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

std::int64_t number(std::string_view s, std::int64_t fallback = 0) noexcept {
  std::int64_t v = fallback;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty() ? v : fallback;
}

std::string types_text(const ResolverStats& r) {
  std::string out;
  for (std::size_t i = 0; i < r.type_count; ++i) {
    if (i > 0) out += ',';
    out += std::to_string(r.types[i]);
  }
  return out;
}

// Bit n of octet n / 8, most significant first (as Redis SETBIT counts); only up to the last set one.
std::string probes_bitmap(const ResolverStats& r) {
  std::string out;
  for (std::size_t i = 0; i < r.probes.size(); ++i) {
    if (!r.probes.test(i)) continue;
    if (out.size() <= i / 8) out.resize(i / 8 + 1, '\0');
    out[i / 8] = static_cast<char>(static_cast<unsigned char>(out[i / 8]) | (0x80U >> (i % 8)));
  }
  return out;
}

// One resolver's fields (ADDR|x) into `r`.
void apply_field(ResolverStats& r, char what, std::string_view value) {
  switch (what) {
    case 'c':
      r.count = static_cast<std::uint64_t>(number(value));
      break;
    case 'f':
      r.first_seen = from_ms(number(value));
      break;
    case 'l':
      r.last_seen = from_ms(number(value));
      break;
    case 't':
      r.udp = (number(value) & 1) != 0;
      r.tcp = (number(value) & 2) != 0;
      break;
    case 'q':
      for (std::size_t at = 0; at < value.size() && r.type_count < r.types.size();) {
        const auto comma = std::min(value.find(',', at), value.size());
        r.types[r.type_count++] = static_cast<std::uint16_t>(number(value.substr(at, comma - at)));
        at = comma + 1;
      }
      break;
    case 'p':
      for (std::size_t i = 0; i < value.size() * 8 && i < r.probes.size(); ++i)
        if ((static_cast<unsigned char>(value[i / 8]) & (0x80U >> (i % 8))) != 0) r.probes.set(i);
      break;
    default:
      break;
  }
}

std::vector<ResolverStats> decode_resolvers(const Fields& fields) {
  std::map<std::string, ResolverStats> by_address;
  for (const auto& [name, value] : fields) {
    const auto bar = name.rfind('|');
    if (bar == std::string::npos || bar + 2 != name.size()) continue;
    auto address = common::IpAddress::parse(std::string_view(name).substr(0, bar));
    if (!address) continue;
    ResolverStats& r = by_address[name.substr(0, bar)];
    r.address = *address;
    apply_field(r, name.back(), value);
  }
  std::vector<ResolverStats> out;
  for (auto& [text, r] : by_address)
    if (r.count > 0) out.push_back(r);
  std::ranges::sort(out, [](const auto& a, const auto& b) { return a.first_seen < b.first_seen; });
  return out;
}

// True if a lost window ("instance|from|to|count") overlaps [created, expires).
bool overlaps(std::string_view window, std::int64_t created, std::int64_t expires) {
  const auto a = window.find('|');
  const auto b = window.find('|', a == std::string_view::npos ? a : a + 1);
  const auto c = window.find('|', b == std::string_view::npos ? b : b + 1);
  if (c == std::string_view::npos) return false;
  const std::int64_t from = number(window.substr(a + 1, b - a - 1), -1);
  const std::int64_t to = number(window.substr(b + 1, c - b - 1), -1);
  return from >= 0 && to >= from && from < expires && to >= created;
}

}  // namespace

std::string RedisKeys::run(const RunId& id) const {
  return prefix + "{" + id.to_text() + "}:run";
}

std::string RedisKeys::resolvers(const RunId& id) const {
  return prefix + "{" + id.to_text() + "}:res";
}

std::string RedisKeys::reports(const RunId& id) const {
  return prefix + "{" + id.to_text() + "}:rep";
}

std::int64_t to_ms(TimePoint t) noexcept {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

TimePoint from_ms(std::int64_t ms) noexcept {
  return TimePoint(std::chrono::milliseconds(ms));
}

std::vector<std::string> run_fields(const RunSnapshot& run) {
  return {"check",     common::to_hex(run.key.check(), 0),
          "created",   std::to_string(to_ms(run.created)),
          "expires",   std::to_string(to_ms(run.expires)),
          "probes",    std::to_string(run.probes),
          "key_id",    std::to_string(run.key_id),
          "resolvers", "0",
          "dropped",   "0",
          "lost",      "0"};
}

std::vector<std::vector<std::string>> record_commands(const std::vector<Observation>& batch, const RedisKeys& keys,
                                                      const std::string& script_sha, std::size_t cap) {
  // Grouped in binary form (no text per observation: this runs for every query the fleet sees);
  // a run's resolvers in a batch are few, so a vector searched linearly is the cheapest map.
  std::unordered_map<RunId, std::vector<ResolverStats>, RunIdHash> runs;
  for (const auto& o : batch) {
    auto& resolvers = runs[o.run];
    auto it = std::ranges::find_if(resolvers, [&](const ResolverStats& r) { return r.address == o.resolver; });
    if (it == resolvers.end()) {
      it = resolvers.emplace(resolvers.end());
      it->address = o.resolver;
    }
    it->count_one(o);
  }
  std::vector<std::vector<std::string>> out;
  out.reserve(runs.size());
  for (const auto& [id, resolvers] : runs) {
    std::vector<std::string> cmd{"EVALSHA", script_sha, "2", keys.run(id), keys.resolvers(id), std::to_string(cap)};
    cmd.reserve(cmd.size() + 7 * resolvers.size());
    for (const auto& r : resolvers) {
      const unsigned transports = (r.udp ? 1U : 0U) | (r.tcp ? 2U : 0U);
      for (std::string v :
           {r.address.to_string(), std::to_string(to_ms(r.first_seen)), std::to_string(to_ms(r.last_seen)),
            std::to_string(r.count), std::to_string(transports), types_text(r), probes_bitmap(r)})
        cmd.push_back(std::move(v));
    }
    out.push_back(std::move(cmd));
  }
  // The same batch always yields the same commands, in run order (tests compare them).
  std::ranges::sort(out, [](const auto& a, const auto& b) { return a[3] < b[3]; });
  return out;
}

std::expected<RunSnapshot, StoreError> decode_run(const RunKey& key, const Fields& run, const Fields& resolvers,
                                                  const std::vector<std::string>& lost_windows) {
  std::unordered_map<std::string, std::string> f(run.begin(), run.end());
  const std::string want = common::to_hex(key.check(), 0);
  const std::string& have = f["check"];
  unsigned diff = have.size() == want.size() ? 0U : 1U;  // compared in constant time
  for (std::size_t i = 0; i < want.size() && i < have.size(); ++i) diff |= static_cast<unsigned>(want[i] ^ have[i]);
  if (diff != 0) return std::unexpected(StoreError::NotFound);
  RunSnapshot s;
  s.key = key;
  s.id = key.id();
  s.created = from_ms(number(f["created"]));
  s.expires = from_ms(number(f["expires"]));
  s.probes = static_cast<std::uint16_t>(number(f["probes"]));
  s.key_id = static_cast<std::uint8_t>(number(f["key_id"]));
  s.dropped = static_cast<std::uint64_t>(number(f["dropped"]));
  s.lost = static_cast<std::uint64_t>(number(f["lost"]));
  s.resolvers = decode_resolvers(resolvers);
  s.incomplete = s.lost > 0 || std::ranges::any_of(lost_windows, [&](const std::string& w) {
                   return overlaps(w, to_ms(s.created), to_ms(s.expires));
                 });
  return s;
}

std::string lost_window(std::string_view instance, TimePoint from, TimePoint to, std::uint64_t count) {
  return std::string(instance) + "|" + std::to_string(to_ms(from)) + "|" + std::to_string(to_ms(to)) + "|" +
         std::to_string(count);
}

}  // namespace dnsfence::witness
