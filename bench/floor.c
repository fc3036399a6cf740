/* The kernel's floor for one probe attempt (make bench, issue 15): a
 * blocking client doing exactly one exchange per attempt, no event loop, in a
 * loop. `floor http|tcp HOST PORT N [PERIOD_US]`: waits for the server, runs
 * 200 warm-up attempts, then N measured ones, and prints `attempts=N own_ns=X
 * failures=F` with its own CPU time from /proc/self/schedstat, as vigil's is
 * read. http: connect, the kubelet's GET, read to the end, close; tcp:
 * connect, close. With PERIOD_US, each attempt first waits for the next tick
 * of a periodic timerfd (a blocking read): the one timed wake per attempt
 * that any prober with a period pays and a client in a tight loop does not. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static unsigned long long schedstat_ns(void) {
    unsigned long long ns = 0;
    FILE *f = fopen("/proc/self/schedstat", "r");
    if (f) {
        if (fscanf(f, "%llu", &ns) != 1) ns = 0;
        fclose(f);
    }
    return ns;
}

static int attempt(const struct sockaddr_in *addr, int http, const char *req, size_t len) {
    char buf[4096];
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) return -1;
    if (connect(s, (const struct sockaddr *)addr, sizeof *addr) < 0) {
        close(s);
        return -1;
    }
    if (http) {
        if (write(s, req, len) != (ssize_t)len) {
            close(s);
            return -1;
        }
        ssize_t n;
        while ((n = read(s, buf, sizeof buf)) > 0) {
        }
        if (n < 0) {
            close(s);
            return -1;
        }
    }
    close(s);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: floor http|tcp HOST PORT N [PERIOD_US]\n");
        return 2;
    }
    int http = strcmp(argv[1], "http") == 0;
    int port = atoi(argv[3]);
    long n = atol(argv[4]);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, argv[2], &addr.sin_addr);
    char req[512];
    int len = snprintf(req, sizeof req,
                       "GET / HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: kube-probe/1.31\r\n"
                       "Accept: */*\r\nConnection: close\r\n\r\n",
                       argv[2], port);
    for (int tries = 0; attempt(&addr, 0, req, 0) < 0; tries++) {
        if (tries > 5000) {
            fprintf(stderr, "floor: nothing listens on %s:%d\n", argv[2], port);
            return 1;
        }
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    long period_us = argc == 6 ? atol(argv[5]) : 0;
    int tick = -1;
    if (period_us > 0) {
        tick = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
        struct itimerspec every = {{period_us / 1000000, period_us % 1000000 * 1000},
                                   {period_us / 1000000, period_us % 1000000 * 1000}};
        if (tick < 0 || timerfd_settime(tick, 0, &every, NULL) < 0) {
            perror("floor: timerfd");
            return 1;
        }
    }
    unsigned long long ticks;
    for (int i = 0; i < 200; i++) {
        if (tick >= 0 && read(tick, &ticks, sizeof ticks) < 0) return 1;
        attempt(&addr, http, req, (size_t)len);
    }
    long failures = 0;
    unsigned long long before = schedstat_ns();
    for (long i = 0; i < n; i++) {
        if (tick >= 0 && read(tick, &ticks, sizeof ticks) < 0) return 1;
        failures += attempt(&addr, http, req, (size_t)len) < 0;
    }
    unsigned long long after = schedstat_ns();
    printf("attempts=%ld own_ns=%llu failures=%ld\n", n, after - before, failures);
    return 0;
}
