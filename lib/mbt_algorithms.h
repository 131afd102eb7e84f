/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mbt_algorithms.h - the page digest algorithms, one row each.
 *
 * The only list of them: lib/digest.c turns the rows into user space's
 * table and kmod/memtrace_main.c into the module's, each by defining
 * MBT_ALGORITHM(NAME, name, id, digest_size) and including this file (so it
 * has no include guard). In a row:
 *   NAME         gives the constants built from it (MB_ALGO_NAME in user
 *                space);
 *   name         is what users type and see (the module's algo=, mbuddy's
 *                --algo, JSON output), and, pasted, the name of each side's
 *                digest function, so a row without code does not build;
 *   id           is the algorithm's number in header byte 12: 1..255, never
 *                changed or reused once traces carry it;
 *   digest_size  is header byte 13: 4 or 8 bytes (readers widen digests to
 *                64 bits), at most MBT_DIGEST_SIZE_MAX.
 * docs/digests.md says how to add one.
 */
MBT_ALGORITHM(SUPERFAST, superfast, 1, 4)
MBT_ALGORITHM(XXH32, xxh32, 2, 4)
MBT_ALGORITHM(XXH64, xxh64, 3, 8)
