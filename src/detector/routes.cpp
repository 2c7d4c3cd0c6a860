#include "detector/routes.hpp"

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>

namespace dnsfence::detector {
namespace {

struct Parsed {
  int oif = 0;
  std::optional<IpAddress> prefsrc;
};

IpAddress from_attr(const nlattr* a, int family) {
  if (family == AF_INET) {
    in_addr v4{};
    std::memcpy(&v4, mnl_attr_get_payload(a), sizeof v4);
    return IpAddress::from_v4(v4);
  }
  in6_addr v6{};
  std::memcpy(&v6, mnl_attr_get_payload(a), sizeof v6);
  return IpAddress::from_v6(v6);
}

int on_attr(const nlattr* a, void* data) {
  auto* p = static_cast<std::pair<Parsed*, int>*>(data);
  switch (mnl_attr_get_type(a)) {
    case RTA_OIF:
      if (mnl_attr_validate(a, MNL_TYPE_U32) >= 0) p->first->oif = static_cast<int>(mnl_attr_get_u32(a));
      break;
    case RTA_PREFSRC:
      if (mnl_attr_get_payload_len(a) == (p->second == AF_INET ? 4U : 16U)) p->first->prefsrc = from_attr(a, p->second);
      break;
    default:
      break;
  }
  return MNL_CB_OK;
}

int on_message(const nlmsghdr* nlh, void* data) {
  auto* parsed = static_cast<Parsed*>(data);
  const auto* rtm = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(nlh));
  std::pair<Parsed*, int> ctx{parsed, rtm->rtm_family};
  return mnl_attr_parse(nlh, sizeof(*rtm), on_attr, &ctx);
}

class NetlinkRouteOracle final : public RouteOracle {
 public:
  RouteFact lookup(const IpAddress& destination, std::uint16_t port, std::uint32_t mark) override {
    RouteFact fact{destination, "", 0, std::nullopt, ""};
    mnl_socket* nl = mnl_socket_open(NETLINK_ROUTE);
    if (nl == nullptr) {
      fact.error = std::string("netlink socket: ") + std::strerror(errno);
      return fact;
    }
    // Bounded: the kernel answers at once, but never wait for it more than a second.
    timeval tv{1, 0};
    setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
      fact.error = std::string("netlink bind: ") + std::strerror(errno);
    } else {
      fact.error = query(nl, destination, port, mark, fact);
    }
    mnl_socket_close(nl);
    return fact;
  }

 private:
  static std::string query(mnl_socket* nl, const IpAddress& dst, std::uint16_t port, std::uint32_t mark,
                           RouteFact& fact) {
    std::array<char, 8192> buf{};  // MNL_SOCKET_BUFFER_SIZE is not constexpr
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
    nlh->nlmsg_type = RTM_GETROUTE;
    nlh->nlmsg_flags = NLM_F_REQUEST;
    const auto seq = static_cast<unsigned>(std::time(nullptr));
    nlh->nlmsg_seq = seq;
    auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
    rtm->rtm_family = static_cast<unsigned char>(dst.family());
    rtm->rtm_dst_len = static_cast<unsigned char>(dst.size() * 8);
    mnl_attr_put(nlh, RTA_DST, dst.size(), dst.bytes().data());
    if (mark != 0) mnl_attr_put_u32(nlh, RTA_MARK, mark);
    mnl_attr_put_u8(nlh, RTA_IP_PROTO, IPPROTO_UDP);
    mnl_attr_put_u16(nlh, RTA_DPORT, htons(port));
    if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) return std::string("netlink send: ") + std::strerror(errno);
    const ssize_t n = mnl_socket_recvfrom(nl, buf.data(), buf.size());
    if (n < 0) return std::string("netlink receive: ") + std::strerror(errno);
    Parsed parsed;
    if (mnl_cb_run(buf.data(), static_cast<std::size_t>(n), seq, mnl_socket_get_portid(nl), on_message, &parsed) < 0) {
      return std::string("no route: ") + std::strerror(errno);
    }
    fact.ifindex = parsed.oif;
    fact.source = parsed.prefsrc;
    std::array<char, IF_NAMESIZE> name{};
    if (parsed.oif != 0 && if_indextoname(static_cast<unsigned>(parsed.oif), name.data()) != nullptr)
      fact.ifname = name.data();
    return fact.ifname.empty() ? "route without output interface" : "";
  }
};

}  // namespace

std::unique_ptr<RouteOracle> make_netlink_route_oracle() {
  return std::make_unique<NetlinkRouteOracle>();
}

}  // namespace dnsfence::detector
