/* peer_util.h: the one output format and the probes every C/C++ peer
 * program of bench/peers shares (C99 and C++20).
 *
 * Every measurement is printed as one line the driver (driver.py) parses:
 *
 *   case=<name> peer=<peer> value=<number> unit=<ns|us|ms|bytes|MB|req/s>
 *   case=<name> peer=<peer> na=<reason without spaces>
 *
 * Memory figures are resident-set deltas read from /proc/self/statm: what the
 * machine really pays, so each memory case runs in a fresh process. */
#pragma once

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static inline long long peer_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Resident bytes of this process (0 when /proc is unreadable). */
static inline long long peer_rss_bytes(void) {
  long long size_pages = 0;
  long long resident_pages = 0;
  FILE* f = fopen("/proc/self/statm", "r");
  if (f == NULL) return 0;
  if (fscanf(f, "%lld %lld", &size_pages, &resident_pages) != 2) resident_pages = 0;
  fclose(f);
  return resident_pages * sysconf(_SC_PAGESIZE);
}

/* Peak resident bytes of this process (VmHWM), 0 when unreadable. */
static inline long long peer_peak_rss_bytes(void) {
  char line[256];
  long long kib = 0;
  FILE* f = fopen("/proc/self/status", "r");
  if (f == NULL) return 0;
  while (fgets(line, sizeof line, f) != NULL) {
    if (sscanf(line, "VmHWM: %lld kB", &kib) == 1) break;
  }
  fclose(f);
  return kib * 1024;
}

/* xorshift64: the same "random 0-100 ms" delays in every peer's timer case
 * (Rust and Go spell the same three shifts). */
static inline unsigned long long peer_xorshift(unsigned long long* x) {
  *x ^= *x << 13;
  *x ^= *x >> 7;
  *x ^= *x << 17;
  return *x;
}

static inline void peer_report(const char* name, const char* peer, double value, const char* unit) {
  printf("case=%s peer=%s value=%.6g unit=%s\n", name, peer, value, unit);
  fflush(stdout);
}

static inline void peer_na(const char* name, const char* peer, const char* reason) {
  printf("case=%s peer=%s na=%s\n", name, peer, reason);
  fflush(stdout);
}

/* argv[i] as a count, or `fallback` when absent. */
static inline long long peer_arg(int argc, char** argv, int i, long long fallback) {
  return argc > i ? atoll(argv[i]) : fallback;
}
