/* Line editing and history on the terminal through libedit's
 * readline-compatible callback interface, for a caller that owns the event
 * loop: it watches stdin and calls lineedit__read_char() whenever stdin is
 * readable while a prompt is shown; complete lines arrive at the line
 * callback. Never blocks in readline().
 *
 * Output written with lineedit__print() while a prompt is shown appears
 * above it: the prompt line is cleared, the output written, then the prompt
 * and the user's partial input are drawn again. One terminal per process:
 * the state is global. */
#ifndef MV_LINEEDIT_H
#define MV_LINEEDIT_H

#include <stdbool.h>
#include <stddef.h>

/* line is NULL on Ctrl-D at an empty line; it is freed after the call. */
typedef void (*mv_lineedit_line_fn)(void *opaque, const char *line);
/* Completions of text (the word before the cursor): a malloc'ed,
 * NULL-terminated array of malloc'ed strings, or NULL. */
typedef char **(*mv_lineedit_complete_fn)(void *opaque, const char *text);

/* true if stdin and stdout are both terminals and stdin echoes (libedit
 * does not edit on a terminal without echo). */
bool lineedit__usable(void);
void lineedit__init(const char *app_name, mv_lineedit_line_fn on_line, mv_lineedit_complete_fn complete,
		    void *opaque);
/* Shows the prompt and reads one line (or redraws with a new prompt). */
void lineedit__prompt(const char *prompt);
/* Whether a prompt is shown (stdin should then be watched). */
bool lineedit__active(void);
/* stdin is readable: feed one key to the editor. */
void lineedit__read_char(void);
/* Ctrl-C at the prompt: shows ^C and drops the line; the prompt stays
 * hidden until the next lineedit__prompt(). */
void lineedit__interrupt(void);
/* Writes buf to fd (1 or 2), above the prompt if one is shown. */
void lineedit__print(int fd, const void *buf, size_t len);
/* The terminal was resized (SIGWINCH). */
void lineedit__resize(void);
/* Hides the prompt and gives the terminal back its own settings. */
void lineedit__end(void);

#endif
