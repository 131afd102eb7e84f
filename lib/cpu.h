/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cpu.h - which instruction sets the code may use, from what the C
 * library found when the process started.
 *
 * glibc's dynamic linker reads the CPU's features (and whether the OS
 * saves the wider registers) once per process for its own string
 * functions; <sys/platform/x86.h> reads that record. libgcc's
 * __builtin_cpu_supports() would instead run its own CPUID sequence in a
 * constructor of every process that links it, and CPUID traps to the
 * hypervisor in a virtual machine: about 10 us each on the machines this
 * project runs on, a tenth of a millisecond per start of mbuddy.
 *
 * "Active" means usable: present and enabled by the OS (and not masked
 * with GLIBC_TUNABLES=glibc.cpu.hwcaps=-FEATURE, which the tests and an
 * operator may use to try the fallbacks).
 */
#ifndef MB_CPU_H
#define MB_CPU_H

#include <stdbool.h>

#if defined(__x86_64__) && __has_include(<sys/platform/x86.h>)
#include <sys/platform/x86.h>
/*
 * CPU_FEATURE_ACTIVE() itself, but with an unsigned shift: glibc 2.36's
 * x86_cpu_active() tests bit 31 as (1 << 31), an int overflow that
 * UndefinedBehaviorSanitizer reports (AVX512VL is bit 31 of its word).
 * The record is 4 words per leaf, 32 features per word.
 */
static inline bool mb_cpu_active(unsigned int index)
{
	const struct cpuid_feature *f = __x86_get_cpuid_feature_leaf(index / 128);
	unsigned int bit = index % 128;

	return (f->active_array[bit / 32] >> (bit % 32)) & 1U;
}
#define MB_CPU_HAS(name) mb_cpu_active(x86_cpu_##name)
#else
#define MB_CPU_HAS(name) false
#endif

#endif /* MB_CPU_H */
