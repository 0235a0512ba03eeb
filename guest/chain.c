/*
 * halcyon-chain: the HA tests' write oracle, run inside the test guest.
 *
 *   halcyon-chain DEVICE OFFSET SLOTS TTY PERIOD_US
 *
 * Draws a random boot id, finds the newest record of a ring of SLOTS 512-byte records at byte
 * OFFSET of DEVICE, and from then on appends a record every PERIOD_US microseconds: the next
 * global sequence number, the boot id, the sequence within this boot and the hash of the record
 * before it. Each record is written with O_DIRECT|O_DSYNC (it is on the disk when the write
 * returns) and then printed to TTY (a serial port the host logs to a file):
 *
 *   chain SEQ BOOT BOOTSEQ PREV SELF
 *
 * Two QEMUs of one guest writing at once break the chain on the disk or fork it in the logs,
 * which the test kit's checker (io.halcyon.testkit.ChainOracle) reports. FNV-1a 64 is enough:
 * the writers are not adversaries, only concurrent.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define REC 512
#define MAGIC "HLCHAIN1"

struct rec {
    char magic[8];
    uint64_t seq;
    uint64_t boot;
    uint64_t bootseq;
    uint64_t prev;
    uint64_t self;
};

static uint64_t fnv(const void *p, size_t n) {
    const unsigned char *b = p;
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static uint64_t hash_of(const struct rec *r) {
    return fnv(r, offsetof(struct rec, self));
}

static int valid(const struct rec *r) {
    return memcmp(r->magic, MAGIC, 8) == 0 && r->self == hash_of(r);
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: halcyon-chain DEVICE OFFSET SLOTS TTY PERIOD_US\n");
        return 2;
    }
    off_t base = strtoll(argv[2], NULL, 10);
    long slots = strtol(argv[3], NULL, 10);
    long period = strtol(argv[5], NULL, 10);
    if (base < 0 || base % REC != 0 || slots < 2 || period < 0) {
        fprintf(stderr, "halcyon-chain: bad OFFSET, SLOTS or PERIOD_US\n");
        return 2;
    }
    int fd = open(argv[1], O_RDWR | O_DIRECT | O_DSYNC);
    if (fd < 0) {
        perror("halcyon-chain: open device");
        return 1;
    }
    off_t size = lseek(fd, 0, SEEK_END);
    if (size < base + (off_t) slots * REC) {
        fprintf(stderr, "halcyon-chain: %s is too small for the ring\n", argv[1]);
        return 1;
    }
    FILE *tty = fopen(argv[4], "w");
    if (tty == NULL) {
        perror("halcyon-chain: open tty");
        return 1;
    }
    setvbuf(tty, NULL, _IOLBF, 0);
    unsigned char *buf, *ring;
    size_t ring_len = (size_t) slots * REC;
    if (posix_memalign((void **) &buf, 4096, REC) != 0 || posix_memalign((void **) &ring, 4096, ring_len) != 0) {
        return 1;
    }
    /* the newest valid record: the chain goes on from it (one read: small ones are slow on an emulated disk) */
    if (pread(fd, ring, ring_len, base) != (ssize_t) ring_len) {
        perror("halcyon-chain: read");
        return 1;
    }
    struct rec last = {0};
    for (long i = 0; i < slots; i++) {
        struct rec r;
        memcpy(&r, ring + (size_t) i * REC, sizeof r);
        if (valid(&r) && r.seq > last.seq) {
            last = r;
        }
    }
    free(ring);
    uint64_t boot = 0;
    int rnd = open("/dev/urandom", O_RDONLY);
    if (rnd < 0 || read(rnd, &boot, sizeof boot) != sizeof boot) {
        perror("halcyon-chain: urandom");
        return 1;
    }
    close(rnd);
    fprintf(tty, "chain start %016" PRIx64 " after %" PRIu64 "\n", boot, last.seq);
    for (uint64_t n = 1;; n++) {
        struct rec r = {0};
        memcpy(r.magic, MAGIC, 8);
        r.seq = last.seq + 1;
        r.boot = boot;
        r.bootseq = n;
        r.prev = last.self;
        r.self = hash_of(&r);
        memset(buf, 0, REC);
        memcpy(buf, &r, sizeof r);
        if (pwrite(fd, buf, REC, base + (off_t) (r.seq % slots) * REC) != REC) {
            perror("halcyon-chain: write");
            return 1;
        }
        fprintf(tty, "chain %" PRIu64 " %016" PRIx64 " %" PRIu64 " %016" PRIx64 " %016" PRIx64 "\n", r.seq, r.boot, r.bootseq,
                r.prev, r.self);
        last = r;
        if (period > 0) {
            usleep(period);
        }
    }
}
