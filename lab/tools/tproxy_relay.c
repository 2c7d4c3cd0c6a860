/* tproxy_relay: the lab's stand-in for `dnsfence serve` in tproxy mode, until that exists.
 * UDP only, one query at a time (a lab peer, not a server).
 *
 *   tproxy_relay LISTEN_PORT UPSTREAM_IPV4 [UPSTREAM_PORT]
 *
 * Receives datagrams that nft `tproxy` diverted to LISTEN_PORT on a transparent socket, learns
 * each one's original destination (IP_RECVORIGDSTADDR), forwards the query to the upstream and
 * sends the answer back *from that original address and port* through a second transparent
 * socket bound to it: clients (glibc, kdig) reject answers from any other address. One line per
 * query on stdout: "CLIENT ORIGINAL_DESTINATION answered|no-answer". */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static int transparent_socket(void) {
  int one = 1, s = socket(AF_INET, SOCK_DGRAM, 0);
  if (s < 0 || setsockopt(s, SOL_IP, IP_TRANSPARENT, &one, sizeof one) != 0 ||
      setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) {
    perror("transparent socket");
    exit(1);
  }
  return s;
}

/* Forwards QUERY to UPSTREAM; returns the answer's length, or -1 after 1.5 s without one. */
static ssize_t ask_upstream(const struct sockaddr_in *upstream, const unsigned char *query,
                            size_t len, unsigned char *answer, size_t cap) {
  struct timeval tv = {1, 500000};
  int u = socket(AF_INET, SOCK_DGRAM, 0);
  ssize_t r = -1;
  if (u >= 0 && setsockopt(u, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0 &&
      connect(u, (const struct sockaddr *)upstream, sizeof *upstream) == 0 &&
      send(u, query, len, 0) == (ssize_t)len)
    r = recv(u, answer, cap, 0);
  if (u >= 0) close(u);
  return r;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s LISTEN_PORT UPSTREAM_IPV4 [UPSTREAM_PORT]\n", argv[0]);
    return 2;
  }
  struct sockaddr_in listen_addr = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[1]))};
  struct sockaddr_in upstream = {.sin_family = AF_INET, .sin_port = htons(argc > 3 ? atoi(argv[3]) : 53)};
  if (inet_pton(AF_INET, argv[2], &upstream.sin_addr) != 1) return 2;
  int one = 1, s = transparent_socket();
  if (setsockopt(s, SOL_IP, IP_RECVORIGDSTADDR, &one, sizeof one) != 0 ||
      bind(s, (struct sockaddr *)&listen_addr, sizeof listen_addr) != 0) {
    perror("listen");
    return 1;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("listening on 0.0.0.0:%s, upstream %s\n", argv[1], argv[2]);
  for (;;) {
    unsigned char query[4096], answer[4096], control[256];
    struct sockaddr_in client, original;
    struct iovec iov = {query, sizeof query};
    struct msghdr msg = {.msg_name = &client, .msg_namelen = sizeof client, .msg_iov = &iov,
                         .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
    ssize_t n = recvmsg(s, &msg, 0);
    int have_original = 0;
    if (n <= 0) continue;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
      if (c->cmsg_level == SOL_IP && c->cmsg_type == IP_ORIGDSTADDR) {
        memcpy(&original, CMSG_DATA(c), sizeof original);
        have_original = 1;
      }
    if (!have_original) continue;
    char from[INET_ADDRSTRLEN], to[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &client.sin_addr, from, sizeof from);
    inet_ntop(AF_INET, &original.sin_addr, to, sizeof to);
    ssize_t r = ask_upstream(&upstream, query, (size_t)n, answer, sizeof answer);
    if (r > 0) {
      int t = transparent_socket();
      if (bind(t, (struct sockaddr *)&original, sizeof original) != 0 ||
          sendto(t, answer, (size_t)r, 0, (struct sockaddr *)&client, sizeof client) != r)
        perror("reply");
      close(t);
    }
    printf("%s:%d %s:%d %s\n", from, ntohs(client.sin_port), to, ntohs(original.sin_port),
           r > 0 ? "answered" : "no-answer");
  }
}
