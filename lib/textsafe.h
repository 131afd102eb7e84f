/* SPDX-License-Identifier: GPL-2.0 */
/*
 * textsafe.h - text that came from outside (VM names, URLs, trace
 * headers), made safe to store, log and print.
 *
 * A VM name is chosen by the guest, so it can hold anything: bytes that
 * are not UTF-8 (JSON cannot carry them), a newline (a forged log line),
 * an ESC (a terminal escape sequence that rewrites the operator's screen).
 * The daemons refuse names that are not UTF-8; every log line and every
 * human-readable table escapes control characters, so what is shown is
 * exactly one line of inert text.
 */
#ifndef MB_TEXTSAFE_H
#define MB_TEXTSAFE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * True when @s[0..@len) is well-formed UTF-8 (RFC 3629: no overlong forms,
 * no surrogates, nothing above U+10FFFF). NUL bytes are allowed only by
 * the length; callers passing strlen() never see one.
 */
bool mb_utf8_valid(const char *s, size_t len);

/*
 * Copy @in[0..@len) to @out (@size bytes, NUL-terminated) with every C0
 * control character, DEL, C1 control (U+0080..U+009F) and byte that is
 * not part of well-formed UTF-8 written as an escape: \n, \r, \t, or
 * \xHH for each byte. Printable text, UTF-8 included, is copied as is.
 * Truncates at an escape or character boundary when @out is too small.
 * Returns the length of @out.
 */
size_t mb_escape_text(char *out, size_t size, const char *in, size_t len);

/*
 * @s itself when it needs no escape, else its escaped copy in @buf (@size
 * bytes, truncated if need be): for printf("%s") of untrusted strings.
 */
const char *mb_safe_text(const char *s, char *buf, size_t size);

/*
 * mb_safe_text() into one of MB_DISPLAY_SLOTS rotating per-thread buffers
 * of MB_DISPLAY_LEN bytes: for the untrusted arguments of one printf() in
 * a human-readable table. NULL stays NULL.
 */
#define MB_DISPLAY_SLOTS 16
#define MB_DISPLAY_LEN 512
const char *mb_display(const char *s);

#endif /* MB_TEXTSAFE_H */
